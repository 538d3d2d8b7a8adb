/* VMX bring-up, the shared control words and the VT-x backend table; see vmx.h. */
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid_guest.h"
#include "arch/x86/vcpu_backend.h"
#include "arch/x86/vmx/vcpu_vmx.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/log.h"
#include "kernel/memory.h"
#include "kernel/panic.h"

#include <string.h>

#define VMX_BASIC_REVISION_MASK 0x7fffffffull
#define VMX_BASIC_REGION_SIZE(b) (((b) >> 32) & 0x1fff)
#define VMX_MISC_PREEMPTION_RATE(m) ((unsigned)((m) & 0x1f))
#define EPT_CAP_INVEPT_SINGLE  (1ull << 25)
#define VPID_CAP_INVVPID_SINGLE (1ull << 41)
#define DEFAULT_PHYS_BITS   36   /* MAXPHYADDR without CPUID.80000008H (SDM Vol. 3A 4.1.4) */

static struct vmx_controls ctl;
static struct vmx_features features;
static uint64_t vmxon_phys;
static uint32_t mxcsr_mask = MXCSR_MASK_DEFAULT;

const struct vmx_controls *vmx_controls(void)
{
	return &ctl;
}

void vmwrite(uint64_t field, uint64_t value)
{
	if (!vmwrite_checked(field, value))
		panic("vmwrite of field 0x%llx failed (error %llu)", (unsigned long long)field,
		      (unsigned long long)vmread(VMCS_INSTR_ERROR));
}

/*
 * A control word from its capability MSR (SDM Vol. 3D A.3-A.5): the low half
 * says which bits must be 1, the high half which may be 1. `want` are the bits
 * Ferry would like, `need` those it cannot do without.
 */
static bool adjust(uint64_t cap, uint32_t want, uint32_t need, uint32_t *out, const char *name,
		   const char **why)
{
	uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);
	uint32_t v = (want | must) & may;

	if ((v & need) != need) {
		klog_error("vmx: %s controls lack 0x%x (allowed-1 0x%x)", name, need & ~v, may);
		*why = "the CPU lacks a VMX control Ferry needs";
		return false;
	}
	*out = v;
	return true;
}

static int compute_controls(const struct vmx_msrs *m, const char **why)
{
	bool true_ctls = m->basic & VMX_BASIC_TRUE_CTLS;
	uint64_t exit_cap = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	uint64_t entry_cap = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);

	uint32_t pin_need = PIN_EXTERNAL_INTERRUPT_EXITING | PIN_CTL_PREEMPTION_TIMER;
	uint32_t proc_need = PROC_HLT_EXITING | PROC_UNCONDITIONAL_IO | PROC_USE_TSC_OFFSETTING |
			     PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | PROC_RDPMC_EXITING | PROC_MOV_DR_EXITING |
			     PROC_CTL_ACTIVATE_SECONDARY;
	uint32_t proc2_need = PROC2_CTL_ENABLE_EPT | PROC2_CTL_UNRESTRICTED_GUEST;
	uint32_t proc2_want = proc2_need | PROC2_CTL_ENABLE_VPID | PROC2_CTL_WBINVD_EXITING;
	uint32_t exit_need = EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER;
	uint32_t exit_want = exit_need | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_DEBUG_CONTROLS;
	uint32_t entry_need = ENTRY_LOAD_EFER;
	uint32_t entry_want = entry_need | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG_CONTROLS;

	/* CR3 load/store exiting stay off where the TRUE MSRs let us clear them: EPT makes them pointless. */
	if (!adjust(m->pinbased, pin_need | PIN_NMI_EXITING, pin_need, &ctl.pin, "pin-based", why) ||
	    !adjust(m->procbased, proc_need, proc_need, &ctl.proc, "processor-based", why) ||
	    !adjust(m->procbased2, proc2_want, proc2_need, &ctl.proc2, "secondary", why) ||
	    !adjust(exit_cap, exit_want, exit_need, &ctl.exit, "VM-exit", why) ||
	    !adjust(entry_cap, entry_want, entry_need, &ctl.entry, "VM-entry", why))
		return FERR_NOTSUP;
	/* IA-32e mode is set per guest from its EFER.LMA; PML only while logging dirty pages. */
	ctl.entry &= ~ENTRY_IA32E_MODE_GUEST;
	ctl.proc2 &= ~PROC2_CTL_ENABLE_PML;
	ctl.load_pat = (ctl.exit & EXIT_SAVE_PAT) && (ctl.exit & EXIT_LOAD_PAT) && (ctl.entry & ENTRY_LOAD_PAT);
	ctl.vpid = ctl.proc2 & PROC2_CTL_ENABLE_VPID;
	ctl.ept_ad = features.ept_ad;
	ctl.pml = features.pml;
	ctl.invept_single = m->ept_vpid_cap & EPT_CAP_INVEPT_SINGLE;
	ctl.invvpid_single = m->ept_vpid_cap & VPID_CAP_INVVPID_SINGLE;
	if (!(m->ept_vpid_cap & EPT_CAP_INVEPT)) {
		*why = "the CPU lacks INVEPT";
		return FERR_NOTSUP;
	}
	if (ctl.vpid && !(m->ept_vpid_cap & VPID_CAP_INVVPID))
		ctl.proc2 &= ~PROC2_CTL_ENABLE_VPID, ctl.vpid = false;
	return FERR_OK;
}

static int enable_in_feature_control(const char **why)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

	if (fc & FEATURE_CONTROL_LOCK) {
		if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
			*why = "VMX is disabled by the firmware (IA32_FEATURE_CONTROL locked with VMX off; enable VT-x in the firmware setup)";
			return FERR_NOTSUP;
		}
		return FERR_OK;
	}
	wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK);
	return FERR_OK;
}

static void read_mxcsr_mask(void)
{
	static uint8_t area[FXSAVE_BYTES] __attribute__((aligned(16)));

	__asm__ volatile("fxsave64 %0" : "=m"(area));
	uint32_t mask;
	memcpy(&mask, area + FXSAVE_MXCSR_MASK_OFFSET, sizeof(mask));
	mxcsr_mask = mask ? mask : MXCSR_MASK_DEFAULT;
}

static int vmx_hw_init(const char **why)
{
	struct vmx_msrs msrs;

	vmx_caps_read(&msrs);
	vmx_caps_decode(&msrs, &features);
	if (!features.vmx) {
		*why = "the CPU has no VMX (CPUID.1:ECX.VMX is 0)";
		return FERR_NOTSUP;
	}
	if (!features.ept || !features.unrestricted || !features.preemption_timer) {
		*why = "the CPU lacks EPT (4-level, write-back), unrestricted guest or the preemption timer";
		return FERR_NOTSUP;
	}
	int err = enable_in_feature_control(why);
	if (err)
		return err;
	err = compute_controls(&msrs, why);
	if (err)
		return err;

	ctl.revision = (uint32_t)(msrs.basic & VMX_BASIC_REVISION_MASK);
	ctl.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	ctl.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	ctl.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	ctl.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	ctl.preemption_rate = VMX_MISC_PREEMPTION_RATE(rdmsr(MSR_IA32_VMX_MISC));
	if (VMX_BASIC_REGION_SIZE(msrs.basic) > FRAME_SIZE) {
		*why = "the CPU's VMCS region is larger than a page";
		return FERR_NOTSUP;
	}

	/* Ferry's own CR0/CR4 must honour the fixed bits before VMXON (SDM Vol. 3C 24.8). */
	uint64_t cr0 = (read_cr0() | ctl.cr0_fixed0) & ctl.cr0_fixed1;
	uint64_t cr4 = (read_cr4() | ctl.cr4_fixed0 | CR4_VMXE | CR4_OSFXSR) & ctl.cr4_fixed1;
	if (!(cr4 & CR4_VMXE)) {
		*why = "CR4.VMXE cannot be set";
		return FERR_NOTSUP;
	}
	write_cr0(cr0);
	write_cr4(cr4);
	read_mxcsr_mask();

	err = mem_alloc(&mem_owner_ferry, 1, 1, &vmxon_phys);
	if (err) {
		*why = "no memory for the VMXON region";
		return err;
	}
	*(uint32_t *)phys_to_ptr(vmxon_phys) = ctl.revision;
	bool ok;
	__asm__ volatile("vmxon %1; seta %0" : "=qm"(ok) : "m"(vmxon_phys) : "cc", "memory");
	if (!ok) {
		mem_free(&mem_owner_ferry, vmxon_phys, 1);
		*why = "VMXON failed";
		return FERR_NOTSUP;
	}
	return FERR_OK;
}

uint64_t vmx_guest_cr4_allowed(void)
{
	return cpuid_guest_cr4_allowed() & ctl.cr4_fixed1;
}

static void vmx_state_limits(struct x86_state_limits *out)
{
	memset(out, 0, sizeof(*out));
	out->cr0_fixed0 = ctl.cr0_fixed0;
	out->cr0_fixed1 = ctl.cr0_fixed1;
	out->cr4_fixed0 = ctl.cr4_fixed0;
	out->cr4_fixed1 = ctl.cr4_fixed1;
	out->cr0_guest_owned_ok = CR0_PE | CR0_PG;   /* unrestricted guest (SDM Vol. 3C 26.3.1.1) */
	out->cr4_allowed = vmx_guest_cr4_allowed();
	out->phys_bits = DEFAULT_PHYS_BITS;
	if (cpuid(CPUID_LEAF_EXT_MAX, 0).eax >= CPUID_LEAF_ADDRESS_SIZES)
		out->phys_bits = cpuid(CPUID_LEAF_ADDRESS_SIZES, 0).eax & CPUID_ADDRESS_SIZES_PHYS_MASK;
	out->mxcsr_mask = mxcsr_mask;
	cpu_features_host(&out->host);
}

struct invalidation_descriptor {
	uint64_t first, second;
};

void vmx_invept(uint64_t eptp)
{
	struct invalidation_descriptor d = { eptp, 0 };
	uint64_t type = ctl.invept_single ? INVEPT_SINGLE_CONTEXT : INVEPT_ALL_CONTEXTS;

	__asm__ volatile("invept %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

void vmx_invvpid(uint16_t vpid)
{
	if (!ctl.vpid)
		return;
	struct invalidation_descriptor d = { vpid, 0 };
	uint64_t type = ctl.invvpid_single ? INVVPID_SINGLE_CONTEXT : INVVPID_ALL_CONTEXTS;

	__asm__ volatile("invvpid %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

/* ---- the backend's host-wide calls and its table ------------------------------------ */

#define CAPABILITY_COUNT 7

static unsigned vmx_hw_capabilities(const struct vcpu_capability **list)
{
	static struct vcpu_capability caps[CAPABILITY_COUNT];
	struct vmx_msrs msrs;
	struct vmx_features f;

	vmx_caps_read(&msrs);
	vmx_caps_decode(&msrs, &f);
	caps[0] = (struct vcpu_capability){ "vmx", f.vmx };
	caps[1] = (struct vcpu_capability){ "ept", f.ept };
	caps[2] = (struct vcpu_capability){ "ept_ad", f.ept_ad };
	caps[3] = (struct vcpu_capability){ "pml", f.pml };
	caps[4] = (struct vcpu_capability){ "unrestricted", f.unrestricted };
	caps[5] = (struct vcpu_capability){ "vpid", f.vpid };
	caps[6] = (struct vcpu_capability){ "preemption_timer", f.preemption_timer };
	*list = caps;
	return CAPABILITY_COUNT;
}

static void vmx_hw_describe(char *buf, size_t cap)
{
	fmt_snprintf(buf, cap, "pin=0x%x proc=0x%x proc2=0x%x exit=0x%x entry=0x%x vpid=%s dirty=%s wbinvd=%s",
		     ctl.pin, ctl.proc, ctl.proc2, ctl.exit, ctl.entry, ctl.vpid ? "yes" : "no",
		     ctl.pml ? "pml" : ctl.ept_ad ? "ept-ad" : "none",
		     ctl.proc2 & PROC2_CTL_WBINVD_EXITING ? "trapped" : "native");
}

const struct vcpu_backend vmx_backend = {
	.name = "vmx",
	.hw_init = vmx_hw_init,
	.hw_capabilities = vmx_hw_capabilities,
	.hw_describe = vmx_hw_describe,
	.state_limits = vmx_state_limits,
	.create = vmx_vcpu_create,
	.destroy = vmx_vcpu_destroy,
	.get_state = vmx_vcpu_get_state,
	.set_state = vmx_vcpu_set_state,
	.guest_tsc = vmx_vcpu_guest_tsc,
	.set_guest_tsc = vmx_vcpu_set_guest_tsc,
	.table_frames = vmx_vcpu_table_frames,
	.run = vmx_vcpu_run,
	.complete_io = vmx_vcpu_complete_io,
	.complete_hypercall = vmx_vcpu_complete_hypercall,
	.exit_counts = vmx_vcpu_exit_counts,
	.dirty_mode = vmx_vcpu_dirty_mode,
	.dirty_start = vmx_vcpu_dirty_start,
	.dirty_collect = vmx_vcpu_dirty_collect,
	.dirty_stop = vmx_vcpu_dirty_stop,
};
