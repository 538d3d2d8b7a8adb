/* AMD-V bring-up and what guests share; see svm.h. Sections cited: AMD64 APM Vol. 2. */
#include "arch/x86/svm/svm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid_guest.h"
#include "arch/x86/svm/svm_vcpu.h"
#include "arch/x86/svm/timer.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/vcpu_backend.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/units.h"
#include "kernel/log.h"
#include "kernel/memory.h"

#include <string.h>

#define MSR_VM_HSAVE_PA      0xc0010117u   /* 15.30.4 */
#define DEFAULT_PHYS_BITS    36
#define ASID_HOST            0
#define ASID_SHARED          1             /* every guest's, when the CPU has too few */
#define GUEST_SLOTS_MAX      8             /* kernel/vm/: VM_MAX guests, slots 0-7 */

static struct svm_host host;

/* `info` keys, in this order; filled at svm_hw_init() whether or not SVM can be used. */
static struct vcpu_capability capabilities[] = {
	{ "svm", false }, { "npt", false }, { "nrips", false }, { "decode_assists", false },
	{ "flush_by_asid", false }, { "vmcb_clean", false }, { "avic", false },
};
#define CAPABILITY_COUNT (sizeof(capabilities) / sizeof(capabilities[0]))

const struct svm_host *svm_host(void)
{
	return &host;
}

bool svm_hw_ready(void)
{
	return host.ready;
}

unsigned svm_hw_capabilities(const struct vcpu_capability **list)
{
	*list = capabilities;
	return CAPABILITY_COUNT;
}

static void note_capabilities(const struct svm_features *f)
{
	const bool present[CAPABILITY_COUNT] = {
		f->svm, f->npt, f->nrips, f->decode_assists, f->flush_by_asid, f->vmcb_clean, f->avic,
	};
	for (unsigned i = 0; i < CAPABILITY_COUNT; i++)
		capabilities[i].present = present[i];
}

/* SVMDIS set by the firmware: clear it when VM_CR is not locked (15.30.1). */
static int enable_in_vm_cr(const struct svm_features *f, const char **why)
{
	if (!f->disabled)
		return FERR_OK;
	if (f->disabled_locked) {
		*why = "SVM is disabled by the firmware (VM_CR.SVMDIS set and locked): enable "
		       "\"SVM Mode\" (AMD-V, \"Virtualization\") in the BIOS/UEFI setup";
		return FERR_NOTSUP;
	}
	wrmsr(MSR_VM_CR, rdmsr(MSR_VM_CR) & ~VM_CR_SVMDIS);
	return FERR_OK;
}

static uint32_t read_mxcsr_mask(void)
{
	static uint8_t area[FXSAVE_BYTES] __attribute__((aligned(16)));
	uint32_t mask;

	__asm__ volatile("fxsave64 %0" : "=m"(area));
	memcpy(&mask, area + FXSAVE_MXCSR_MASK_OFFSET, sizeof(mask));
	return mask ? mask : MXCSR_MASK_DEFAULT;
}

static uint32_t read_phys_bits(void)
{
	if (cpuid(CPUID_LEAF_EXT_MAX, 0).eax < CPUID_LEAF_ADDRESS_SIZES)
		return DEFAULT_PHYS_BITS;
	return cpuid(CPUID_LEAF_ADDRESS_SIZES, 0).eax & CPUID_ADDRESS_SIZES_PHYS_MASK;
}

/* Pages every guest shares: the permission maps (all ones) and the two state areas. */
static int allocate_shared(const char **why)
{
	uint64_t iopm_frames = SVM_IOPM_BYTES / PAGE_SIZE, msrpm_frames = SVM_MSRPM_BYTES / PAGE_SIZE;

	if (mem_alloc(&mem_owner_ferry, 1, 1, &host.hsave_phys) ||
	    mem_alloc(&mem_owner_ferry, 1, 1, &host.host_save_phys) ||
	    mem_alloc(&mem_owner_ferry, iopm_frames, 1, &host.iopm_phys) ||
	    mem_alloc(&mem_owner_ferry, msrpm_frames, 1, &host.msrpm_phys)) {
		*why = "no memory for the SVM host areas";
		return FERR_NOMEM;
	}
	memset(phys_to_ptr(host.iopm_phys), 0xff, SVM_IOPM_BYTES);
	memset(phys_to_ptr(host.msrpm_phys), 0xff, SVM_MSRPM_BYTES);
	return FERR_OK;
}

int svm_hw_init(const char **why)
{
	struct svm_cpuid raw;

	svm_caps_read(&raw);
	svm_caps_decode(&raw, &host.features);
	note_capabilities(&host.features);
	const struct svm_features *f = &host.features;
	if (!f->svm) {
		*why = "the CPU has no SVM (CPUID Fn8000_0001_ECX[SVM] is 0)";
		return FERR_NOTSUP;
	}
	int err = enable_in_vm_cr(f, why);
	if (err)
		return err;
	if (!f->npt) {
		*why = "the CPU lacks nested paging (CPUID Fn8000_000A_EDX[NP] is 0)";
		return FERR_NOTSUP;
	}
	if (f->asids < 2) {
		*why = "the CPU offers no guest ASID";
		return FERR_NOTSUP;
	}
	err = svm_timer_init(why);
	if (err)
		return err;
	err = allocate_shared(why);
	if (err)
		return err;
	host.mxcsr_mask = read_mxcsr_mask();
	host.phys_bits = read_phys_bits();

	wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, host.hsave_phys);
	/* Ferry's own FS, GS, TR, LDTR and syscall MSRs, restored by VMLOAD after every guest run. */
	__asm__ volatile("vmsave %%rax" : : "a"(host.host_save_phys) : "memory");
	host.ready = true;
	return FERR_OK;
}

void svm_hw_describe(char *buf, size_t cap)
{
	const struct svm_features *f = &host.features;

	fmt_snprintf(buf, cap, "revision=%u asids=%u%s nrips=%s decode_assists=%s "
		     "flush_by_asid=%s vmcb_clean=%s; %s", f->revision, f->asids,
		     svm_asids_shared() ? " (shared)" : "", f->nrips ? "yes" : "no",
		     f->decode_assists ? "yes" : "no", f->flush_by_asid ? "yes" : "no",
		     f->vmcb_clean ? "yes (unused)" : "no", svm_timer_describe());
}

void svm_state_limits(struct x86_state_limits *out)
{
	memset(out, 0, sizeof(*out));
	/* SVM forces no CR0 or CR4 bit on a guest (15.5.1 lists what VMRUN refuses instead). */
	out->cr0_fixed0 = 0;
	out->cr0_fixed1 = 0xffffffffull;
	out->cr4_fixed0 = 0;
	out->cr4_fixed1 = ~0ull;
	out->cr0_guest_owned_ok = CR0_PE | CR0_PG;   /* real mode and unpaged guests run as they are */
	out->cr4_allowed = cpuid_guest_cr4_allowed();
	out->phys_bits = host.phys_bits;
	out->mxcsr_mask = host.mxcsr_mask;
	cpu_features_host(&out->host);
}

bool svm_asids_shared(void)
{
	return host.features.asids <= GUEST_SLOTS_MAX;
}

uint32_t svm_asid_for_slot(unsigned slot)
{
	return svm_asids_shared() ? ASID_SHARED : ASID_HOST + 1 + slot;
}

uint8_t svm_tlb_flush_command(void)
{
	return host.features.flush_by_asid ? SVM_TLB_FLUSH_ASID : SVM_TLB_FLUSH_ALL;
}

const struct vcpu_backend svm_backend = {
	.name = "svm",
	.hw_init = svm_hw_init,
	.hw_capabilities = svm_hw_capabilities,
	.hw_describe = svm_hw_describe,
	.state_limits = svm_state_limits,
	.create = svm_vcpu_create,
	.destroy = svm_vcpu_destroy,
	.get_state = svm_vcpu_get_state,
	.set_state = svm_vcpu_set_state,
	.guest_tsc = svm_vcpu_guest_tsc,
	.set_guest_tsc = svm_vcpu_set_guest_tsc,
	.table_frames = svm_vcpu_table_frames,
	.run = svm_vcpu_run,
	.complete_io = svm_vcpu_complete_io,
	.complete_hypercall = svm_vcpu_complete_hypercall,
	.exit_counts = svm_vcpu_exit_counts,
	.dirty_mode = svm_vcpu_dirty_mode,
	.dirty_start = svm_vcpu_dirty_start,
	.dirty_collect = svm_vcpu_dirty_collect,
	.dirty_stop = svm_vcpu_dirty_stop,
};
