/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * uring.bpf.h - what the io_uring sensors share. An operation submitted through
 * io_uring passes no syscall tracepoint: the file and network sensors watch the
 * io_uring_submit_req tracepoint (the request, prepared) and io_uring_complete
 * (its result), keep what the record needs from the submission in a bounded hash
 * keyed by the request's address, and build the same record as the syscall form
 * at completion. They attach as raw tracepoints: the kernel then fills no trace
 * record (with its opcode string) for every io_uring operation, which every
 * io_uring user would pay for, recorded operation or not.
 *
 * The record belongs to the submitting process. Completions (and submissions
 * with IORING_SETUP_SQPOLL) may run in the process's kernel io threads
 * (iou-wrk-PID, iou-sqp-PID): they share its pid, files, cwd and credentials,
 * but their comm and tid are their own, so the submitter's are kept with the
 * request and put into the record's header.
 */
#ifndef VIGIL_URING_BPF_H
#define VIGIL_URING_BPF_H

#include "core/record.bpf.h"

#define PF_IO_WORKER_	    0x00000010	/* task->flags: an io_uring io thread (io-wq, SQPOLL) */
#define REQ_F_FIXED_FILE_   (1ull << 0) /* req->flags: the fd is a registered-file index */
#define REQ_F_CQE_SKIP_	    (1ull << 6) /* req->flags: no completion is posted on success */
#define IORING_CQE_F_MORE_  (1u << 1)	/* cqe flags: a multishot request goes on */
#define URING_FILE_REQS_MAX 1024	/* file operations in flight whose names are kept */
#define URING_NET_REQS_MAX  4096	/* network operations in flight */

/* Who submitted a request: the record's header says this, not the io thread. */
struct uring_who {
	__u32 tgid; /* the submitting process */
	__u32 tid;  /* the submitting thread; the tgid when an SQPOLL thread submitted */
	char comm[VG_COMM_LEN]; /* the submitting thread's comm; the leader's for SQPOLL */
};

static __always_inline void uring_who_fill(struct uring_who *w)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	w->tgid = id >> 32;
	if (BPF_CORE_READ(t, flags) & PF_IO_WORKER_) {
		/* the SQPOLL thread submits for whichever thread filled the ring */
		w->tid = w->tgid;
		task_comm(w->comm, BPF_CORE_READ(t, group_leader));
	} else {
		w->tid = (__u32)id;
		task_comm(w->comm, t);
	}
}

/* Whether the current task can speak for the submitter (a kernel worker cannot). */
static __always_inline bool uring_same_process(const struct uring_who *w)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32) == w->tgid;
}

/* Puts the submitter into a header hdr_fill() wrote from the current task. */
static __always_inline void uring_hdr(struct vg_hdr *h, const struct uring_who *w)
{
	h->flags |= VG_HF_IO_URING;
	h->tid = w->tid;
	bpf_probe_read_kernel(h->comm, sizeof(h->comm), w->comm);
}

/* The request a raw io_uring_submit_req hands over: TP_PROTO(struct io_kiocb *req). */
static __always_inline struct io_kiocb *uring_submit_req(struct bpf_raw_tracepoint_args *ctx)
{
	return (struct io_kiocb *)ctx->args[0];
}

/*
 * A completion as io_uring_complete posts it: TP_PROTO(ctx, req, struct io_uring_cqe *cqe)
 * since 6.13, (ctx, req, user_data, res, cflags, extra1, extra2) before; the loader reads
 * which from the kernel's BTF (vg_cfg.uring_complete_cqe).
 */
struct uring_cqe {
	struct io_kiocb *req; /* NULL for a multishot request's completions but the last */
	__u64 ring;	      /* struct io_ring_ctx * */
	__u64 user_data;      /* the submitter's tag */
	__s32 res;	      /* the result */
	__u32 flags;	      /* IORING_CQE_F_* */
};

static __always_inline void uring_cqe_read(struct uring_cqe *c, struct bpf_raw_tracepoint_args *ctx)
{
	c->ring = ctx->args[0];
	c->req = (struct io_kiocb *)ctx->args[1];
	if (vg_cfg.uring_complete_cqe) {
		struct io_uring_cqe *cqe = (struct io_uring_cqe *)ctx->args[2];

		c->user_data = BPF_CORE_READ(cqe, user_data);
		c->res = BPF_CORE_READ(cqe, res);
		c->flags = BPF_CORE_READ(cqe, flags);
	} else {
		c->user_data = ctx->args[2];
		c->res = (__s32)ctx->args[3];
		c->flags = (__u32)ctx->args[4];
	}
}

/* The op-specific command struct (struct io_open, io_rename, ...) inside the request. */
static __always_inline void *uring_cmd(struct io_kiocb *req)
{
	return (char *)req + bpf_core_field_offset(struct io_kiocb, cmd);
}

#endif /* VIGIL_URING_BPF_H */
