"""The cost of the DNS programs (bpf/sensors/dns.bpf.c) on ordinary traffic.

The DNS programs sit on cgroup_skb egress and ingress of the cgroup v2 root, so every
packet of every socket runs them, DNS or not. This section measures what that costs
on loopback packet storms that carry no DNS at all:

  udp_storm -c   1-byte datagrams on a connected UDP socket (no send sensor work: the
                 packet hooks are nearly all vigil adds), each one egress + ingress
  connect_storm  TCP connect + close: SYN, SYN-ACK, ACK, RST, each through the hooks

under three conditions, interleaved round by round:

  baseline       no vigil
  vigil_no_dns   the default ruleset without its DNS rules (and without fd.sip.name in
                 an output): the programs are attached but return at their first map
                 lookup (the prefilter's mode for dns is "none")
  vigil          the default ruleset: the programs read each packet's IP and transport
                 headers to find port 53 (then return: none of this traffic is DNS)

The report gives each condition's time against the baseline's of the same round, and
vigil against vigil_no_dns: the part the DNS programs cost when on.
"""
import os

DNS_WORKLOADS = ("udp_storm_connected", "connect_storm")
DNS_CONDITIONS = ("baseline", "vigil_no_dns", "vigil")
DNS_MARKER = "# DNS: names asked for"


def no_dns_rules(default_text):
    """The default ruleset without its DNS block and its one fd.sip.name output."""
    cut = default_text.find(DNS_MARKER)
    if cut < 0:
        raise ValueError("the DNS block of the default ruleset was not found")
    head = default_text[:cut]
    # the line of '#'s above the marker belongs to the block
    head = head[:head.rstrip("\n").rfind("\n") + 1]
    return head.replace(" name=%fd.sip.name", "")


def dns_cmd(h, w):
    if w == "udp_storm_connected":
        return [h.bin("udp_storm"), "-c", str(h.p["udp_storm"])]
    return [h.bin("connect_storm"), str(h.p["connect_storm"])]


def dns_section(h, vigil_monitor, stats, log):
    """Runs the section on harness h; returns its JSON object."""
    d = h.rules_dir()
    with open(os.path.join(d, "vigil_rules.yaml")) as f:
        text = no_dns_rules(f.read())
    path = os.path.join(d, "no_dns.yaml")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    monitors = {"baseline": None,
                "vigil_no_dns": lambda: vigil_monitor(h, "vigil_no_dns", ["--rules", path]),
                "vigil": lambda: vigil_monitor(h, "vigil_dns")}
    runs = {w: {c: [] for c in DNS_CONDITIONS} for w in DNS_WORKLOADS}
    for r in range(h.p["rounds"]):
        for w in DNS_WORKLOADS:
            order = DNS_CONDITIONS[r % 3:] + DNS_CONDITIONS[:r % 3]
            for c in order:
                h.audit.check()
                mon = monitors[c]() if monitors[c] else None
                if mon:
                    mon.start()
                    mon.mark()
                try:
                    res = h.run_workload(dns_cmd(h, w))
                finally:
                    if mon:
                        mon.snapshot()
                        m = mon.stop()
                if mon:
                    res["monitor"] = m
                res["round"] = r
                runs[w][c].append(res)
                log(f"dns: round {r + 1}/{h.p['rounds']} {w:20s} {c:13s} "
                    f"{res['seconds']:8.3f} s {res['ops_per_sec']:12.1f} ops/s")
    out = {"conditions": list(DNS_CONDITIONS), "workloads": {}}
    for w in DNS_WORKLOADS:
        base = {x["round"]: x["seconds"] for x in runs[w]["baseline"]}
        nodns = {x["round"]: x["seconds"] for x in runs[w]["vigil_no_dns"]}
        wres = {}
        for c in DNS_CONDITIONS:
            rs = runs[w][c]
            wres[c] = {
                "seconds": stats([x["seconds"] for x in rs]),
                "ops_per_sec": stats([x["ops_per_sec"] for x in rs]),
                "ratio": stats([x["seconds"] / base[x["round"]] for x in rs]),
                "runs": rs,
            }
        wres["vigil"]["ratio_to_no_dns"] = stats(
            [x["seconds"] / nodns[x["round"]] for x in runs[w]["vigil"]])
        out["workloads"][w] = wres
    return out


def dns_markdown(sec, fmt_range):
    """The report's lines for the section."""
    lines = ["## DNS programs on ordinary traffic", "",
             "Loopback storms with no DNS in them; every packet passes the DNS programs' "
             "egress and ingress hooks. `vigil_no_dns`: the default rules without the DNS "
             "rules (programs attached, idle); `vigil`: the default rules (each packet's "
             "headers read to look for port 53). Ratios are to the baseline of the same "
             "round, median (min–max) over the rounds; the last column is vigil against vigil_no_dns: "
             "what the DNS programs cost when on.", "",
             "| workload | baseline ops/s | vigil_no_dns | vigil | vigil / vigil_no_dns |",
             "| --- | --- | --- | --- | --- |"]
    for w, res in sec["workloads"].items():
        lines.append(f"| {w} | {res['baseline']['ops_per_sec']['median']:.0f} | "
                     f"{fmt_range(res['vigil_no_dns']['ratio'])} | "
                     f"{fmt_range(res['vigil']['ratio'])} | "
                     f"{fmt_range(res['vigil']['ratio_to_no_dns'])} |")
    lines.append("")
    return lines
