/*
 * The vCPU dispatcher: picks the backend for this CPU's vendor at vcpu_hw_init()
 * and forwards every vcpu_* call of arch/x86/vcpu.h to its table
 * (arch/x86/vcpu_backend.h). Image only.
 */
#include "arch/x86/vcpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/spec_hw.h"
#include "arch/x86/vcpu_backend.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"
#include "kernel/panic.h"

#include <string.h>

#define VENDOR_BYTES 12   /* CPUID.0: EBX, EDX, ECX hold the vendor string */

static const struct vcpu_backend *active;   /* set once vcpu_hw_init() succeeded */

enum vcpu_vendor vcpu_hw_vendor(void)
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_VENDOR, 0);
	char vendor[VENDOR_BYTES];

	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	if (memcmp(vendor, "GenuineIntel", VENDOR_BYTES) == 0)
		return VCPU_VENDOR_INTEL;
	if (memcmp(vendor, "AuthenticAMD", VENDOR_BYTES) == 0)
		return VCPU_VENDOR_AMD;
	return VCPU_VENDOR_NONE;
}

const char *vcpu_vendor_name(enum vcpu_vendor vendor)
{
	switch (vendor) {
	case VCPU_VENDOR_INTEL: return "intel";
	case VCPU_VENDOR_AMD:   return "amd";
	case VCPU_VENDOR_NONE:  break;
	}
	return "none";
}

/*
 * The backend for a vendor, NULL where Ferry has none yet. A CPU of another
 * vendor gets VT-x, which checks CPUID.1:ECX.VMX itself (some licensees have it).
 */
static const struct vcpu_backend *backend_for(enum vcpu_vendor vendor)
{
	switch (vendor) {
	case VCPU_VENDOR_AMD:
		return &svm_backend;
	case VCPU_VENDOR_INTEL:
	case VCPU_VENDOR_NONE:
		break;
	}
	return &vmx_backend;
}

const char *vcpu_hw_name(void)
{
	const struct vcpu_backend *b = backend_for(vcpu_hw_vendor());

	return b ? b->name : "svm";   /* only AMD lacks a backend: name the one to come */
}

int vcpu_hw_init(const char **why)
{
	const struct vcpu_backend *b = backend_for(vcpu_hw_vendor());

	if (!b) {
		*why = "AMD-V is not supported yet";
		return FERR_NOTSUP;
	}
	spec_hw_init();   /* the speculation controls both backends follow (arch/x86/spec_hw.h) */
	int err = b->hw_init(why);
	if (!err)
		active = b;
	return err;
}

bool vcpu_hw_ready(void)
{
	return active != NULL;
}

unsigned vcpu_hw_capabilities(const struct vcpu_capability **list)
{
	const struct vcpu_backend *b = backend_for(vcpu_hw_vendor());

	/* Until an AMD-V backend exists, an AMD CPU answers VT-x's list: every entry "no". */
	return (b ? b : &vmx_backend)->hw_capabilities(list);
}

/* The backend every per-vCPU call goes to; calling before a successful vcpu_hw_init() is a Ferry bug. */
static const struct vcpu_backend *backend(void)
{
	if (!active)
		panic("vcpu: called before virtualization was turned on");
	return active;
}

void vcpu_hw_describe(char *buf, size_t cap)
{
	backend()->hw_describe(buf, cap);
}

void vcpu_state_limits(struct x86_state_limits *out)
{
	backend()->state_limits(out);
	out->vendor = vcpu_hw_vendor();
}

int vcpu_create(const struct vcpu_config *cfg, struct vcpu **out, const char **why)
{
	return backend()->create(cfg, out, why);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v)
		backend()->destroy(v);
}

void vcpu_get_state(struct vcpu *v, struct x86_cpu_state *out)
{
	backend()->get_state(v, out);
}

void vcpu_set_state(struct vcpu *v, const struct x86_cpu_state *s)
{
	backend()->set_state(v, s);
}

uint64_t vcpu_guest_tsc(struct vcpu *v)
{
	return backend()->guest_tsc(v);
}

void vcpu_set_guest_tsc(struct vcpu *v, uint64_t guest_tsc)
{
	backend()->set_guest_tsc(v, guest_tsc);
}

uint64_t vcpu_table_frames(struct vcpu *v)
{
	return backend()->table_frames(v);
}

void vcpu_run(struct vcpu *v, uint64_t deadline_tsc, struct vcpu_exit *exit)
{
	backend()->run(v, deadline_tsc, exit);
}

void vcpu_complete_io(struct vcpu *v, uint32_t value)
{
	backend()->complete_io(v, value);
}

void vcpu_complete_hypercall(struct vcpu *v, uint64_t result)
{
	backend()->complete_hypercall(v, result);
}

uint64_t vcpu_exit_counts(struct vcpu *v, void (*fn)(const char *reason, uint64_t count, void *ctx),
			  void *ctx)
{
	return backend()->exit_counts(v, fn, ctx);
}

const char *vcpu_dirty_mode(struct vcpu *v)
{
	return backend()->dirty_mode(v);
}

int vcpu_dirty_start(struct vcpu *v)
{
	return backend()->dirty_start(v);
}

long vcpu_dirty_collect(struct vcpu *v, uint64_t *bitmap)
{
	return backend()->dirty_collect(v, bitmap);
}

void vcpu_dirty_stop(struct vcpu *v)
{
	backend()->dirty_stop(v);
}
