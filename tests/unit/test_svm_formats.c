/* Host tests of the VMCB format conversions (arch/x86/svm/vmcb_format.c). */
#include "check.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/svm/vmcb_format.h"
#include "arch/x86/x86.h"

/* The access rights of the segments Ferry's guests start with (docs/guest-abi.md), and their VMCB attributes. */
#define AR_CODE64   0xa09bu   /* execute/read accessed code, S, P, L, G */
#define AR_DATA     0xc093u   /* read/write accessed data, S, P, D/B, G */
#define AR_TSS_BUSY 0x008bu
#define ATTR_CODE64 0x0a9bu
#define ATTR_DATA   0x0c93u

TEST(segment_attributes_convert_both_ways)
{
	CHECK_EQ_U(svm_attrib_from_access(AR_CODE64), ATTR_CODE64);
	CHECK_EQ_U(svm_attrib_from_access(AR_DATA), ATTR_DATA);
	CHECK_EQ_U(svm_attrib_from_access(AR_TSS_BUSY), AR_TSS_BUSY);
	CHECK_EQ_U(svm_access_from_attrib(ATTR_CODE64), AR_CODE64);
	CHECK_EQ_U(svm_access_from_attrib(ATTR_DATA), AR_DATA);
	/* Unusable is "not present" in the VMCB, and a null segment (attributes 0) is unusable. */
	CHECK_EQ_U(svm_attrib_from_access(AR_UNUSABLE), 0);
	CHECK_EQ_U(svm_access_from_attrib(0), AR_UNUSABLE);
	CHECK_EQ_U(svm_attrib_from_access(AR_UNUSABLE | AR_DATA), ATTR_DATA & ~AR_P);
	/* A null SS in 64-bit mode keeps its DPL, which is the CPL. */
	CHECK_EQ_U(AR_DPL(svm_access_from_attrib(3u << AR_DPL_SHIFT)), 3);
}

TEST(every_vmcb_attribute_survives_the_round_trip)
{
	for (uint32_t attrib = 0; attrib < 0x1000; attrib++) {
		uint32_t access = svm_access_from_attrib((uint16_t)attrib);
		CHECK_EQ_U(svm_attrib_from_access(access), attrib);
		CHECK_EQ_U(access & AR_RESERVED & ~AR_UNUSABLE, 0);
		CHECK_EQ_U(!(access & AR_UNUSABLE), !!(attrib & AR_P));
	}
	/* And every usable access-rights value (reserved bits clear) the other way. */
	for (uint32_t access = 0; access < 0x10000; access++) {
		if (access & AR_RESERVED || !(access & AR_P))
			continue;
		CHECK_EQ_U(svm_access_from_attrib(svm_attrib_from_access(access)), access);
	}
}

TEST(events_keep_vector_type_and_error_code)
{
	uint32_t err = 0xdead, back_err = 0;
	/* #GP(0x18): a hardware exception with an error code. */
	uint32_t gp = INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR | INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT | VECTOR_GP;
	uint32_t inj = svm_event_from_intr_info(gp, 0x18, &err);
	CHECK_EQ_U(inj, SVM_EVENT_VALID | SVM_EVENT_ERROR_VALID | SVM_EVENT_TYPE_EXCEPTION << SVM_EVENT_TYPE_SHIFT | VECTOR_GP);
	CHECK_EQ_U(err, 0x18);
	CHECK_EQ_U(svm_intr_info_from_event(inj, err, &back_err), gp);
	CHECK_EQ_U(back_err, 0x18);
	/* An external interrupt and an NMI. */
	uint32_t intr = INTR_INFO_VALID | INTR_TYPE_EXTERNAL << INTR_INFO_TYPE_SHIFT | 0x30;
	CHECK_EQ_U(svm_event_from_intr_info(intr, 0, &err), SVM_EVENT_VALID | 0x30);
	CHECK_EQ_U(err, 0);
	CHECK_EQ_U(svm_intr_info_from_event(SVM_EVENT_VALID | 0x30, 0x77, &back_err), intr);
	CHECK_EQ_U(back_err, 0);   /* no error code without the flag */
	uint32_t nmi = INTR_INFO_VALID | INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT | VECTOR_NMI;
	uint32_t nmi_inj = svm_event_from_intr_info(nmi, 0, &err);
	CHECK_EQ_U(nmi_inj, SVM_EVENT_VALID | SVM_EVENT_TYPE_NMI << SVM_EVENT_TYPE_SHIFT | VECTOR_NMI);
	CHECK_EQ_U(svm_intr_info_from_event(nmi_inj, 0, &back_err), nmi);
	/* Nothing pending either way. */
	CHECK_EQ_U(svm_event_from_intr_info(0, 5, &err), 0);
	CHECK_EQ_U(err, 0);
	CHECK_EQ_U(svm_intr_info_from_event(VECTOR_GP, 5, &back_err), 0);
}

TEST(software_events_are_not_carried)
{
	uint32_t err;
	/* INTn, INT3 and INTO interrupted in delivery run again from their instruction. */
	CHECK_EQ_U(svm_intr_info_from_event(SVM_EVENT_VALID | SVM_EVENT_TYPE_SOFT_INT << SVM_EVENT_TYPE_SHIFT | 0x80, 0, &err), 0);
	CHECK_EQ_U(svm_intr_info_from_event(SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION << SVM_EVENT_TYPE_SHIFT | 3, 0, &err), 0);
	CHECK_EQ_U(svm_intr_info_from_event(SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION << SVM_EVENT_TYPE_SHIFT | 4, 0, &err), 0);
	/* VMX's software interrupt and software exception types have no EVENTINJ here. */
	CHECK_EQ_U(svm_event_from_intr_info(INTR_INFO_VALID | 4u << INTR_INFO_TYPE_SHIFT | 0x80, 0, &err), 0);
	CHECK_EQ_U(svm_event_from_intr_info(INTR_INFO_VALID | 6u << INTR_INFO_TYPE_SHIFT | 3, 0, &err), 0);
}

TEST(interrupt_shadow_both_ways)
{
	CHECK_EQ_U(svm_int_state_from_interruptibility(0), 0);
	CHECK_EQ_U(svm_int_state_from_interruptibility(INTERRUPTIBILITY_STI), SVM_INT_STATE_SHADOW);
	CHECK_EQ_U(svm_int_state_from_interruptibility(INTERRUPTIBILITY_MOV_SS), SVM_INT_STATE_SHADOW);
	CHECK_EQ_U(svm_interruptibility_from_int_state(0, RFLAGS_IF), 0);
	CHECK_EQ_U(svm_interruptibility_from_int_state(SVM_INT_STATE_SHADOW, RFLAGS_IF | RFLAGS_FIXED1), INTERRUPTIBILITY_STI);
	CHECK_EQ_U(svm_interruptibility_from_int_state(SVM_INT_STATE_SHADOW, RFLAGS_FIXED1), INTERRUPTIBILITY_MOV_SS);
}

int main(void)
{
	return run_tests();
}
