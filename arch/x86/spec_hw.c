/* Speculation controls on this CPU: probing, the entry/exit actions, `info`; see spec_hw.h. */
#include "arch/x86/spec_hw.h"
#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/x86.h"
#include "kernel/lib/format.h"

#include <string.h>

/* CPUID leaf 0 vendor words (EBX) of the CPUs that enumerate in Fn8000_0008 (AMD, Hygon). */
#define VENDOR_EBX_AMD   0x68747541u   /* "Auth" */
#define VENDOR_EBX_HYGON 0x6f677948u   /* "Hygo" */

static bool ready;
static struct spec_caps caps;
static struct spec_policy policy;
static uint64_t host_spec_ctrl;       /* Ferry's own IA32_SPEC_CTRL, as the firmware left it */
static const void *last_entered;      /* the vCPU last entered: IBPB when the next is another */
uint8_t spec_verw_on_entry;
const uint16_t spec_verw_selector = GDT_SELECTOR_DATA;   /* VERW's operand: any writable data segment */

void spec_hw_init(void)
{
	if (ready)
		return;
	struct cpuid_regs v = cpuid(CPUID_LEAF_VENDOR, 0);
	caps.amd = v.ebx == VENDOR_EBX_AMD || v.ebx == VENDOR_EBX_HYGON;
	if (v.eax >= CPUID_LEAF_EXTENDED_7)
		caps.leaf7_edx = cpuid(CPUID_LEAF_EXTENDED_7, 0).edx;
	if (cpuid(CPUID_LEAF_EXT_MAX, 0).eax >= CPUID_LEAF_ADDRESS_SIZES)
		caps.ext8_ebx = cpuid(CPUID_LEAF_ADDRESS_SIZES, 0).ebx;
	if (!caps.amd && (caps.leaf7_edx & CPUID_7_EDX_ARCH_CAPS))
		caps.arch_caps = rdmsr(MSR_IA32_ARCH_CAPABILITIES);
	spec_decide(&caps, &policy);
	if (policy.spec_ctrl_bits)
		host_spec_ctrl = rdmsr(MSR_IA32_SPEC_CTRL);
	spec_verw_on_entry = policy.verw_on_entry;
	ready = true;
}

const struct spec_caps *spec_hw_caps(void)
{
	spec_hw_init();
	return &caps;
}

const struct spec_policy *spec_hw_policy(void)
{
	spec_hw_init();
	return &policy;
}

void spec_hw_ibpb(void)
{
	if (policy.ibpb_between_guests)
		wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
}

void spec_hw_l1d_flush(void)
{
	if (caps.leaf7_edx & CPUID_7_EDX_L1D_FLUSH)
		wrmsr(MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D);
}

enum spec_msr_result spec_hw_guest_msr(const struct cpu_features *mask, struct spec_guest *g,
				       uint32_t msr, bool write, uint64_t *value)
{
	if (!write)
		return spec_guest_rdmsr(mask, g, msr, value);
	enum spec_msr_result r = spec_guest_wrmsr(mask, g, msr, *value);
	if (r == SPEC_MSR_DO_IBPB)
		spec_hw_ibpb();
	else if (r == SPEC_MSR_DO_L1D_FLUSH)
		spec_hw_l1d_flush();
	return r == SPEC_MSR_DO_IBPB || r == SPEC_MSR_DO_L1D_FLUSH ? SPEC_MSR_DONE : r;
}

void spec_hw_enter(const struct spec_guest *g, const void *who)
{
	if (who != last_entered) {
		spec_hw_ibpb();
		last_entered = who;
	}
	if (policy.spec_ctrl_bits && g->spec_ctrl != host_spec_ctrl)
		wrmsr(MSR_IA32_SPEC_CTRL, g->spec_ctrl);
	if (policy.l1d_flush_on_entry)
		wrmsr(MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D);
}

void spec_hw_exit(const struct spec_guest *g)
{
	if (policy.spec_ctrl_bits && g->spec_ctrl != host_spec_ctrl)
		wrmsr(MSR_IA32_SPEC_CTRL, host_spec_ctrl);
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

void spec_hw_describe(char *buf, size_t cap)
{
	spec_hw_init();
	fmt_snprintf(buf, cap,
		     "spec_ctrl=%s md_clear=%s arch_capabilities=0x%llx ibpb_between_guests=%s "
		     "l1d_flush_on_entry=%s verw_on_entry=%s rsb_fill_on_exit=%s l1tf=%s guest_leaf7_edx=0x%x",
		     yes_no(policy.spec_ctrl_bits), yes_no(caps.leaf7_edx & CPUID_7_EDX_MD_CLEAR),
		     (unsigned long long)caps.arch_caps, yes_no(policy.ibpb_between_guests),
		     yes_no(policy.l1d_flush_on_entry), yes_no(policy.verw_on_entry),
		     yes_no(policy.rsb_fill_on_exit),
		     policy.l1d_flush_on_entry ? "flush-on-entry" : policy.l1tf_unmitigated ? "unmitigated" : "not-needed",
		     policy.guest_leaf7_edx);
}
