/* Host tests of the guest's ACPI tables (kernel/vdev/acpi.c) and the AML encoder
 * (kernel/vdev/aml.c): checksums, lengths, pointers, and AML bytes checked against
 * encodings worked out by hand from ACPI 6.5 ch. 20. iasl's view of the same tables is
 * tests/test_acpi_tables.py. */
#include <stdint.h>

#include "check.h"
#include "kernel/lib/errors.h"
#include "kernel/vdev/acpi.h"
#include "kernel/vdev/aml.h"

static uint8_t buf[PLATFORM_ACPI_BYTES];

static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static const uint8_t *at(uint64_t gpa) { return buf + (gpa - PLATFORM_ACPI_GPA); }

static struct acpi_virtio_device virtio[PLATFORM_VIRTIO_MAX];

static int build(unsigned count, struct acpi_layout *layout)
{
	struct acpi_config cfg;
	const char *why = NULL;

	for (unsigned i = 0; i < PLATFORM_VIRTIO_MAX; i++)
		virtio[i] = (struct acpi_virtio_device){
			PLATFORM_VIRTIO_MMIO_BASE + i * PLATFORM_VIRTIO_MMIO_SIZE,
			PLATFORM_VIRTIO_MMIO_SIZE, PLATFORM_VIRTIO_FIRST_GSI + i };
	acpi_default_config(&cfg, virtio, count);
	memset(buf, 0xa5, sizeof(buf));
	return acpi_build(&cfg, buf, sizeof(buf), layout, &why);
}

/* Does `needle` occur in the table at gpa? */
static int contains(uint64_t gpa, const void *needle, size_t n)
{
	const uint8_t *t = at(gpa);
	uint32_t len = get32(t + 4);
	for (uint32_t i = 0; i + n <= len; i++)
		if (memcmp(t + i, needle, n) == 0)
			return 1;
	return 0;
}

TEST(tables_have_right_checksums_lengths_and_pointers)
{
	for (unsigned count = 0; count <= PLATFORM_VIRTIO_MAX; count++) {
		struct acpi_layout l;
		CHECK_EQ_I(build(count, &l), 0);
		const uint8_t *rsdp = at(l.rsdp);
		CHECK(memcmp(rsdp, "RSD PTR ", 8) == 0);
		CHECK_EQ_U(l.rsdp % 16, 0);
		CHECK_EQ_U(sum(rsdp, 20), 0);
		CHECK_EQ_U(sum(rsdp, 36), 0);
		CHECK_EQ_U(rsdp[15], 2);
		CHECK_EQ_U(get32(rsdp + 20), 36);
		CHECK_EQ_U(get64(rsdp + 24), l.xsdt);

		const uint8_t *xsdt = at(l.xsdt);
		CHECK(memcmp(xsdt, "XSDT", 4) == 0);
		CHECK_EQ_U(get32(xsdt + 4), 36 + 16);
		CHECK_EQ_U(get64(xsdt + 36), l.fadt);
		CHECK_EQ_U(get64(xsdt + 44), l.madt);

		const uint8_t *fadt = at(l.fadt), *madt = at(l.madt), *dsdt = at(l.dsdt);
		CHECK(memcmp(fadt, "FACP", 4) == 0);
		CHECK(memcmp(madt, "APIC", 4) == 0);
		CHECK(memcmp(dsdt, "DSDT", 4) == 0);
		CHECK_EQ_U(get32(fadt + 4), 276);
		CHECK_EQ_U(get64(fadt + 140), l.dsdt);
		CHECK_EQ_U(get32(fadt + 40), l.dsdt);
		const uint8_t *tables[] = { xsdt, fadt, madt, dsdt };
		for (int t = 0; t < 4; t++)
			CHECK_EQ_U(sum(tables[t], get32(tables[t] + 4)), 0);
		/* The tables follow one another inside the region, none overlapping. */
		CHECK(l.xsdt >= l.rsdp + 36 && l.fadt >= l.xsdt + 52 && l.madt >= l.fadt + 276);
		CHECK(l.dsdt >= l.madt + get32(madt + 4));
		CHECK_EQ_U(l.bytes, l.dsdt - PLATFORM_ACPI_GPA + get32(dsdt + 4));
		CHECK(l.bytes <= PLATFORM_ACPI_BYTES);
		/* One device per virtio window, named VR00.. */
		char name[] = "VR00";
		name[3] = (char)('0' + (count ? count - 1 : 0));
		CHECK_EQ_I(contains(l.dsdt, name, 4), count > 0);
		CHECK_EQ_I(contains(l.dsdt, "LNRO0005", 8), count > 0);
	}
}

TEST(fadt_is_hardware_reduced_with_io_port_sleep_and_reset)
{
	struct acpi_layout l;
	CHECK_EQ_I(build(0, &l), 0);
	const uint8_t *f = at(l.fadt);
	uint32_t flags = get32(f + 112);
	CHECK(flags & (1u << 20));   /* HW_REDUCED_ACPI */
	CHECK(flags & (1u << 10));   /* RESET_REG_SUP */
	/* Generic addresses: SystemIO (1), 8 bits, byte access, the platform's ports. */
	const struct { unsigned offset; uint16_t port; } regs[] = {
		{ 116, PLATFORM_RESET_PORT }, { 244, PLATFORM_SLEEP_CONTROL_PORT },
		{ 256, PLATFORM_SLEEP_STATUS_PORT } };
	for (int i = 0; i < 3; i++) {
		const uint8_t *gas = f + regs[i].offset;
		CHECK_EQ_U(gas[0], 1);
		CHECK_EQ_U(gas[1], 8);
		CHECK_EQ_U(gas[3], 1);
		CHECK_EQ_U(get64(gas + 4), regs[i].port);
	}
	CHECK_EQ_U(f[128], PLATFORM_RESET_VALUE);
	CHECK_EQ_U(get32(f + 76), 0);   /* no PM timer */
	CHECK_EQ_U(get32(f + 56), 0);   /* no PM1 event block */
	/* What `poweroff` will write: SLP_TYP 5 and SLP_EN. */
	CHECK_EQ_U((PLATFORM_S5_SLEEP_TYPE << ACPI_SLEEP_TYPE_SHIFT) | ACPI_SLEEP_ENABLE, 0x34);
}

TEST(madt_has_one_lapic_one_ioapic_and_lint1_nmi)
{
	struct acpi_layout l;
	CHECK_EQ_I(build(1, &l), 0);
	const uint8_t *m = at(l.madt);
	static const uint8_t entries[] = {
		0, 8, 0, 0, 1, 0, 0, 0,                                /* LAPIC: UID 0, ID 0, enabled */
		1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0,       /* I/O APIC 0 at 0xFEC00000, GSI 0 */
		4, 6, 0xff, 0, 0, 1,                                   /* NMI on LINT1 of every CPU */
	};
	CHECK_EQ_U(get32(m + 4), 44 + sizeof(entries));
	CHECK_EQ_U(get32(m + 36), 0xfee00000u);
	CHECK_EQ_U(get32(m + 40), 0);
	CHECK(memcmp(m + 44, entries, sizeof(entries)) == 0);
}

TEST(dsdt_bytes_match_a_hand_encoding)
{
	struct acpi_layout l;
	CHECK_EQ_I(build(1, &l), 0);
	const uint8_t *d = at(l.dsdt) + 36;
	static const uint8_t expected[] = {
		/* Name(\_S5_, Package(2) {5, Zero}) */
		0x08, '\\', '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00,
		/* Scope(\_SB_) { PkgLength 118 in two bytes: 0x40 | low nibble, then 118 >> 4 */
		0x10, 0x46, 0x07, '\\', '_', 'S', 'B', '_',
		/* Device(COM1) */
		0x5b, 0x82, 0x31, 'C', 'O', 'M', '1',
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,   /* EisaId("PNP0501") */
		0x08, '_', 'U', 'I', 'D', 0x00,
		0x08, '_', 'C', 'R', 'S', 0x11, 0x16, 0x0a, 0x13,        /* Buffer(19) */
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,          /* IO(Decode16, 0x3F8, 0x3F8, 1, 8) */
		0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00, 0x00,    /* Interrupt(.., Edge, High) {4} */
		0x79, 0x00,                                              /* end tag */
		/* Device(VR00) */
		0x5b, 0x82, 0x3a, 'V', 'R', '0', '0',
		0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00,
		0x08, '_', 'U', 'I', 'D', 0x00,
		0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17,        /* Buffer(23) */
		0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x03, 0x01, 0x10, 0x00, 0x00, 0x00,    /* {16} */
		0x79, 0x00,
	};
	CHECK_EQ_U(get32(at(l.dsdt) + 4), 36 + sizeof(expected));
	CHECK(memcmp(d, expected, sizeof(expected)) == 0);
}

TEST(bad_configurations_are_refused)
{
	struct acpi_config cfg;
	struct acpi_layout l;
	const char *why = NULL;
	struct acpi_virtio_device far = { 0xfffff000ull, 0x2000, 16 };

	acpi_default_config(&cfg, virtio, PLATFORM_VIRTIO_MAX + 1);
	CHECK_EQ_I(acpi_build(&cfg, buf, sizeof(buf), &l, &why), FERR_INVAL);
	acpi_default_config(&cfg, NULL, 1);
	CHECK_EQ_I(acpi_build(&cfg, buf, sizeof(buf), &l, &why), FERR_INVAL);
	acpi_default_config(&cfg, &far, 1);
	CHECK_EQ_I(acpi_build(&cfg, buf, sizeof(buf), &l, &why), FERR_INVAL);
	acpi_default_config(&cfg, NULL, 0);
	cfg.table_gpa += 8;
	CHECK_EQ_I(acpi_build(&cfg, buf, sizeof(buf), &l, &why), FERR_INVAL);
	acpi_default_config(&cfg, NULL, 0);
	for (size_t cap = 0; cap < 0x200; cap += 7)
		CHECK_EQ_I(acpi_build(&cfg, buf, cap, &l, &why), FERR_TOOBIG);
	CHECK(why != NULL);
}

/* ---- the AML encoder alone ---------------------------------------------------------- */
TEST(aml_pkg_length_grows_with_the_body)
{
	static uint8_t out[70000];
	struct aml_writer w;
	const char *why;

	/* A 63-byte package total fits one PkgLength byte; 64 needs two. */
	aml_init(&w, out, sizeof(out));
	aml_name_package_begin(&w, "PKG0");
	for (int i = 0; i < 30; i++)
		aml_package_integer(&w, 0x80);   /* 2 bytes each: 60 + count byte = 61, +1 = 62 */
	aml_end(&w);
	CHECK_EQ_U(aml_finish(&w, &why), 5 + 1 + 1 + 1 + 60);
	CHECK_EQ_U(out[6], 62);
	/* A 1001-byte body: two PkgLength bytes (up to 4095). */
	aml_init(&w, out, sizeof(out));
	aml_name_package_begin(&w, "PKG1");
	for (int i = 0; i < 200; i++)
		aml_package_integer(&w, 0x12345678);   /* 5 bytes each */
	aml_end(&w);
	size_t n = aml_finish(&w, &why);
	CHECK_EQ_U(n, 5 + 1 + 2 + 1 + 1000);
	CHECK_EQ_U(out[6], 0x40 | ((1000 + 1 + 2) & 0xf));
	CHECK_EQ_U(out[7], (1000 + 1 + 2) >> 4);
	CHECK_EQ_U(out[8], 200);
	/* Past 4095: three bytes. */
	aml_init(&w, out, sizeof(out));
	aml_scope_begin(&w, "\\_SB_");
	for (int i = 0; i < 520; i++)
		aml_name_integer(&w, "X___", 0x1234);   /* 8 bytes each */
	aml_end(&w);
	n = aml_finish(&w, &why);
	size_t total = 5 + 4160 + 3;
	CHECK_EQ_U(n, 1 + total);
	CHECK_EQ_U(out[1], 0x80 | (total & 0xf));
	CHECK_EQ_U(out[2], (total >> 4) & 0xff);
	CHECK_EQ_U(out[3], total >> 12);
}

TEST(aml_names_and_integers)
{
	uint8_t out[64];
	struct aml_writer w;
	const char *why;

	aml_init(&w, out, sizeof(out));
	aml_name_integer(&w, "\\A.BC.D", 0x100000000ull);
	static const uint8_t multi[] = { 0x08, '\\', 0x2f, 3, 'A', '_', '_', '_', 'B', 'C', '_', '_',
					 'D', '_', '_', '_', 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 };
	CHECK_EQ_U(aml_finish(&w, &why), sizeof(multi));
	CHECK(memcmp(out, multi, sizeof(multi)) == 0);

	aml_init(&w, out, sizeof(out));
	aml_name_integer(&w, "AB.CD", 0xffff);
	static const uint8_t dual[] = { 0x08, 0x2e, 'A', 'B', '_', '_', 'C', 'D', '_', '_', 0x0b, 0xff, 0xff };
	CHECK_EQ_U(aml_finish(&w, &why), sizeof(dual));
	CHECK(memcmp(out, dual, sizeof(dual)) == 0);

	const char *bad[] = { "", "\\", "1ABC", "ABCDE", "A..B", "AB.", "a", "A-B" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&w, out, sizeof(out));
		aml_name_integer(&w, bad[i], 1);
		CHECK_EQ_U(aml_finish(&w, &why), 0);
	}
	const char *bad_ids[] = { "PNP050", "pnp0501", "PNP05G1", "PNP05011" };
	for (unsigned i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		aml_init(&w, out, sizeof(out));
		aml_name_eisa_id(&w, "_HID", bad_ids[i]);
		CHECK_EQ_U(aml_finish(&w, &why), 0);
	}
}

TEST(aml_misuse_is_reported)
{
	uint8_t out[16];
	struct aml_writer w;
	const char *why = NULL;

	aml_init(&w, out, sizeof(out));
	aml_end(&w);
	CHECK_EQ_U(aml_finish(&w, &why), 0);
	CHECK_STR(why, "AML: end without an open object");

	aml_init(&w, out, sizeof(out));
	aml_scope_begin(&w, "\\_SB_");
	CHECK_EQ_U(aml_finish(&w, &why), 0);
	CHECK_STR(why, "AML: an object left open");

	aml_init(&w, out, sizeof(out));
	aml_resource_io(&w, 0x3f8, 8);
	CHECK_EQ_U(aml_finish(&w, &why), 0);

	aml_init(&w, out, sizeof(out));
	aml_package_integer(&w, 1);
	CHECK_EQ_U(aml_finish(&w, &why), 0);

	aml_init(&w, out, sizeof(out));
	aml_scope_begin(&w, "\\_SB_");
	for (int i = 0; i < 4; i++)
		aml_name_integer(&w, "ABCD", 1);   /* 16 bytes will not fit */
	aml_end(&w);
	CHECK_EQ_U(aml_finish(&w, &why), 0);
	CHECK_STR(why, "AML: buffer full");

	aml_init(&w, out, sizeof(out));
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_scope_begin(&w, "A");
	CHECK_EQ_U(aml_finish(&w, &why), 0);
}

int main(void)
{
	return run_tests();
}
