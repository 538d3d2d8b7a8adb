/* VMCB formats against the portable ones; see vmcb_format.h. */
#include "arch/x86/svm/vmcb_format.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/x86.h"

#define ATTRIB_LOW_MASK     0x00ffu   /* type, S, DPL, P: the same bits in both formats */
#define ATTRIB_HIGH_MASK    0x0f00u   /* AVL, L, D/B, G in the VMCB */
#define ACCESS_HIGH_MASK    0xf000u   /* ... and in the access rights */
#define HIGH_NIBBLE_SHIFT   4         /* between the two positions */

uint16_t svm_attrib_from_access(uint32_t access)
{
	uint16_t attrib = (uint16_t)((access & ATTRIB_LOW_MASK) |
				     ((access & ACCESS_HIGH_MASK) >> HIGH_NIBBLE_SHIFT));

	if (access & AR_UNUSABLE)
		attrib &= (uint16_t)~AR_P;
	return attrib;
}

uint32_t svm_access_from_attrib(uint16_t attrib)
{
	uint32_t access = (attrib & ATTRIB_LOW_MASK) | ((uint32_t)(attrib & ATTRIB_HIGH_MASK) << HIGH_NIBBLE_SHIFT);

	if (!(attrib & AR_P))
		access |= AR_UNUSABLE;
	return access;
}

/* Event fields past the type: the error-code flag and the valid bit, at the same places in both. */
#define EVENT_KEEP (INTR_INFO_VECTOR(0xffffffffu) | INTR_INFO_DELIVER_ERROR | INTR_INFO_VALID)

uint32_t svm_event_from_intr_info(uint32_t info, uint32_t error, uint32_t *inj_error)
{
	*inj_error = 0;
	if (!(info & INTR_INFO_VALID))
		return 0;
	uint32_t type;
	switch (INTR_INFO_TYPE(info)) {
	case INTR_TYPE_EXTERNAL:     type = SVM_EVENT_TYPE_INTR; break;
	case INTR_TYPE_NMI:          type = SVM_EVENT_TYPE_NMI; break;
	case INTR_TYPE_HW_EXCEPTION: type = SVM_EVENT_TYPE_EXCEPTION; break;
	default:                     return 0;
	}
	if (info & INTR_INFO_DELIVER_ERROR)
		*inj_error = error;
	return (info & EVENT_KEEP) | type << SVM_EVENT_TYPE_SHIFT;
}

uint32_t svm_intr_info_from_event(uint32_t event, uint32_t event_error, uint32_t *error)
{
	*error = 0;
	if (!(event & SVM_EVENT_VALID))
		return 0;
	unsigned vector = event & SVM_EVENT_VECTOR_MASK;
	uint32_t type;
	switch ((event & SVM_EVENT_TYPE_MASK) >> SVM_EVENT_TYPE_SHIFT) {
	case SVM_EVENT_TYPE_INTR:
		type = INTR_TYPE_EXTERNAL;
		break;
	case SVM_EVENT_TYPE_NMI:
		type = INTR_TYPE_NMI;
		break;
	case SVM_EVENT_TYPE_EXCEPTION:
		/* INT3 and INTO are reported as exceptions (#BP, #OF): software events all the same. */
		if (vector == VECTOR_BP || vector == VECTOR_OF)
			return 0;
		type = INTR_TYPE_HW_EXCEPTION;
		break;
	default:
		return 0;   /* INTn: the instruction runs again */
	}
	if (event & SVM_EVENT_ERROR_VALID)
		*error = event_error;
	return (event & EVENT_KEEP) | type << INTR_INFO_TYPE_SHIFT;
}

uint32_t svm_int_state_from_interruptibility(uint32_t interruptibility)
{
	return interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS) ? SVM_INT_STATE_SHADOW : 0;
}

uint32_t svm_interruptibility_from_int_state(uint32_t int_state, uint64_t rflags)
{
	if (!(int_state & SVM_INT_STATE_SHADOW))
		return 0;
	/* VM entry refuses blocking by STI with IF clear (SDM 26.3.1.5): the shadow of a MOV SS it is. */
	return rflags & RFLAGS_IF ? INTERRUPTIBILITY_STI : INTERRUPTIBILITY_MOV_SS;
}
