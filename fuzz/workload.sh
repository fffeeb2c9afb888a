#!/bin/bash
# The workload fuzz/corpus/record was recorded from: a few of every event kind.
#   build/vigil run --no-rules --events=json --record rec.bin >/dev/null &
#   fuzz/workload.sh; kill -INT %1
#   python3 fuzz/seeds.py records rec.bin fuzz/corpus/record workload.sh
d=$(mktemp -d)
cd $d
ls -la /etc >/dev/null
cat /etc/shadow >/dev/null
echo x > $d/f; mv $d/f $d/g; mkdir $d/dd; chmod 700 $d/dd; chown nobody $d/g; ln $d/g $d/h; ln -s $d/g $d/s; truncate -s 0 $d/g
rm $d/h; rmdir $d/dd; rm -f /var/tmp/../tmp/nonexistent.$$ 
python3 - <<'PY'
import socket, os, ctypes, signal
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1)
c=socket.socket(); c.connect(s.getsockname()); a,_=s.accept()
s6=socket.socket(socket.AF_INET6); s6.bind(("::1",0)); s6.listen(1)
u=socket.socket(socket.AF_UNIX); 
try: u.connect("/run/nonexistent.sock")
except OSError: pass
fd=os.memfd_create("x"); os.close(fd)
pid=os.fork()
if pid==0:
    os.setgid(65534); os.setuid(65534); os._exit(3)
os.waitpid(pid,0)
pid=os.fork()
if pid==0:
    import time; time.sleep(5); os._exit(0)
libc=ctypes.CDLL(None, use_errno=True)
libc.ptrace(16, pid, 0, 0)  # PTRACE_ATTACH
os.kill(pid, signal.SIGKILL); os.waitpid(pid,0)
libc.syscall(175, 0, 0, 0) # init_module fails
PY
unshare -m sh -c 'mount -t tmpfs none /mnt && umount /mnt'
unshare -u true
chroot / true
bpftool prog list >/dev/null 2>&1
capsh --drop=cap_net_raw -- -c true 2>/dev/null || true
sh -c 'exit 7'
rm -rf $d
