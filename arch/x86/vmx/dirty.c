/*
 * Dirty-page tracking under VT-x (docs/vmx.md, "Dirty tracking"). Both modes use
 * the EPT dirty bits (A/D bits enabled in the EPTP):
 *  - ept-ad: collect walks the EPT, reports the pages with D set and clears it;
 *  - pml: the CPU also appends the GPA of each page whose D bit goes from 0 to 1
 *    to a 512-entry log (SDM Vol. 3C 29.3.6). A PML-full exit moves the log into
 *    a pending bitmap; collect drains the log, hands the pending pages over and
 *    clears exactly their D bits, which re-arms logging for them.
 * Either way the translations are invalidated (INVEPT) so that the CPU sets D
 * again on the next write. PML is on only while logging. See vcpu_vmx.h.
 */
#include "arch/x86/vmx/vcpu_vmx.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/lib/bitmap.h"
#include "kernel/lib/errors.h"
#include "kernel/memory.h"

#include <string.h>

#define PML_ENTRIES     512
#define PML_INDEX_START (PML_ENTRIES - 1)   /* the CPU logs from the last entry downwards */
#define PML_INDEX_MASK  0xffffu

static uint64_t guest_pages(const struct vcpu *v)
{
	return v->ram_bytes / FRAME_SIZE;
}

int vmx_dirty_init(struct vcpu *v)
{
	v->dirty.bitmap_frames = (bitmap_words(guest_pages(v)) * sizeof(uint64_t) + FRAME_SIZE - 1) /
				 FRAME_SIZE;
	if (!vmx_controls()->pml)
		return FERR_OK;
	return mem_alloc(v->owner, 1, 1, &v->dirty.pml_phys);
}

void vmx_dirty_attach(struct vcpu *v)
{
	if (!v->dirty.pml_phys)
		return;
	vmwrite(VMCS_PML_ADDRESS, v->dirty.pml_phys);
	vmwrite(VMCS_GUEST_PML_INDEX, PML_INDEX_START);
}

void vmx_dirty_release(struct vcpu *v)
{
	if (v->dirty.pml_phys)
		mem_free(v->owner, v->dirty.pml_phys, 1);
	if (v->dirty.pending_phys)
		mem_free(v->owner, v->dirty.pending_phys, v->dirty.bitmap_frames);
	memset(&v->dirty, 0, sizeof(v->dirty));
}

const char *vmx_vcpu_dirty_mode(struct vcpu *v)
{
	return v->dirty.pml_phys ? "pml" : "ept-ad";
}

/* PML on or off; resets the log index either way. */
static void set_pml(struct vcpu *v, bool on)
{
	if (!v->dirty.pml_phys)
		return;
	vmx_vcpu_load(v);
	if (on)
		v->proc2 |= PROC2_CTL_ENABLE_PML;
	else
		v->proc2 &= ~PROC2_CTL_ENABLE_PML;
	vmwrite(VMCS_PROC2_CONTROLS, v->proc2);
	vmwrite(VMCS_GUEST_PML_INDEX, PML_INDEX_START);
}

/* Moves the logged pages into the pending bitmap (or drops them when nobody logs) and resets the index. */
static void drain_pml(struct vcpu *v)
{
	if (!v->dirty.pml_phys)
		return;
	vmx_vcpu_load(v);
	/* The index is the next free slot, and wraps to 0xffff when the log is full (SDM 29.3.6). */
	unsigned index = (unsigned)(vmread(VMCS_GUEST_PML_INDEX) & PML_INDEX_MASK);
	unsigned first = index >= PML_ENTRIES ? 0 : index + 1;
	const uint64_t *log = phys_to_ptr(v->dirty.pml_phys);
	uint64_t pages = guest_pages(v);

	for (unsigned i = first; v->dirty.logging && v->dirty.pending && i < PML_ENTRIES; i++) {
		uint64_t page = (log[i] & EPT_ADDR_MASK) / FRAME_SIZE;
		if (page < pages)
			bitmap_set(v->dirty.pending, page);
	}
	vmwrite(VMCS_GUEST_PML_INDEX, PML_INDEX_START);
}

enum exit_action vmx_on_pml_full(struct exit_ctx *x)
{
	drain_pml(x->v);
	return EXIT_RESUME;
}

int vmx_vcpu_dirty_start(struct vcpu *v)
{
	struct vmx_dirty *d = &v->dirty;

	if (!vmx_controls()->ept_ad)
		return FERR_NOTSUP;
	if (d->pml_phys && !d->pending) {
		int err = mem_alloc(v->owner, d->bitmap_frames, 1, &d->pending_phys);
		if (err)
			return err;
		d->pending = phys_to_ptr(d->pending_phys);
	}
	if (d->pending)
		memset(d->pending, 0, d->bitmap_frames * FRAME_SIZE);
	ept_clear_dirty(&v->ept);
	vmx_invept(v->eptp);
	set_pml(v, true);
	d->logging = true;
	return FERR_OK;
}

/* PML mode: hands the pending pages over and clears their D bits (re-arming the log for them). */
static long collect_pending(struct vcpu *v, uint64_t *bitmap)
{
	uint64_t pages = guest_pages(v);
	long newly = (long)bitmap_or_count_new(bitmap, v->dirty.pending, bitmap_words(pages));

	for (uint64_t p = bitmap_next_set(v->dirty.pending, 0, pages); p < pages;
	     p = bitmap_next_set(v->dirty.pending, p + 1, pages)) {
		uint64_t *leaf = ept_leaf(&v->ept, p * FRAME_SIZE, NULL);
		if (leaf)
			*leaf &= ~EPT_DIRTY;
	}
	memset(v->dirty.pending, 0, bitmap_words(pages) * sizeof(uint64_t));
	return newly;
}

long vmx_vcpu_dirty_collect(struct vcpu *v, uint64_t *bitmap)
{
	long newly;

	if (!v->dirty.logging)
		return FERR_BUSY;
	if (!v->dirty.pml_phys) {
		newly = (long)ept_collect_dirty(&v->ept, bitmap, guest_pages(v));
	} else {
		drain_pml(v);
		newly = collect_pending(v, bitmap);
	}
	vmx_invept(v->eptp);
	return newly;
}

void vmx_vcpu_dirty_stop(struct vcpu *v)
{
	set_pml(v, false);
	v->dirty.logging = false;
}
