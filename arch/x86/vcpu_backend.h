/*
 * What a CPU virtualization backend provides behind arch/x86/vcpu.h: one
 * function per vcpu_* call, with that call's contract (see vcpu.h). The
 * dispatcher (arch/x86/vcpu.c) picks one table at vcpu_hw_init() from the CPU
 * vendor and forwards every call to it; kernel/vm/ never sees this header.
 *
 * Backends: arch/x86/vmx/ exports vmx_backend (Intel VT-x); arch/x86/svm/ will
 * export svm_backend (AMD-V) and take its place in vcpu.c's backend_for().
 * A backend keeps its own state (struct vcpu, control words) and calls nothing
 * above arch/x86/. Image only.
 */
#ifndef FERRY_ARCH_X86_VCPU_BACKEND_H
#define FERRY_ARCH_X86_VCPU_BACKEND_H

#include "arch/x86/vcpu.h"

struct vcpu_backend {
	const char *name;   /* "vmx", "svm": vcpu_hw_name() */

	/* The host. capabilities runs whether or not hw_init ran or succeeded. */
	int (*hw_init)(const char **why);
	unsigned (*hw_capabilities)(const struct vcpu_capability **list);
	void (*hw_describe)(char *buf, size_t cap);
	void (*state_limits)(struct x86_state_limits *out);

	/* One vCPU. */
	int (*create)(const struct vcpu_config *cfg, struct vcpu **out, const char **why);
	void (*destroy)(struct vcpu *v);
	void (*get_state)(struct vcpu *v, struct x86_cpu_state *out);
	void (*set_state)(struct vcpu *v, const struct x86_cpu_state *s);
	uint64_t (*guest_tsc)(struct vcpu *v);
	void (*set_guest_tsc)(struct vcpu *v, uint64_t guest_tsc);
	uint64_t (*table_frames)(struct vcpu *v);

	/* Running. */
	void (*run)(struct vcpu *v, uint64_t deadline_tsc, struct vcpu_exit *exit);
	void (*complete_io)(struct vcpu *v, uint32_t value);
	void (*complete_hypercall)(struct vcpu *v, uint64_t result);
	uint64_t (*exit_counts)(struct vcpu *v, void (*fn)(const char *reason, uint64_t count, void *ctx),
				void *ctx);

	/* Dirty tracking. */
	const char *(*dirty_mode)(struct vcpu *v);
	int (*dirty_start)(struct vcpu *v);
	long (*dirty_collect)(struct vcpu *v, uint64_t *bitmap);
	void (*dirty_stop)(struct vcpu *v);
};

/* Intel VT-x (arch/x86/vmx/). */
extern const struct vcpu_backend vmx_backend;
/* AMD-V (arch/x86/svm/). */
extern const struct vcpu_backend svm_backend;

#endif
