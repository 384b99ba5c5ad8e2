/* fuzz_mail_zip.c - the zip reader: whatever the archive claims, no member
 * inflates past the caps given, and the running total stays under its limit. */
#include "mail/mail.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb__zip z;
	if (pb__zip_open(&z, data, size, "fuzz.zip", NULL) != PB_OK)
		return 0;
	z.total_limit = 4u << 20;
	struct pb_buf out;
	pb_buf_init(&out, 1u << 20);
	for (size_t i = 0; i < z.nentries; i++) {
		if (pb__zip_read(&z, &z.entries[i], 1u << 20, &out, NULL) == PB_OK && out.len > (1u << 20))
			abort();
		if (z.inflated_total > z.total_limit)
			abort();
	}
	pb_buf_release(&out);
	pb__zip_close(&z);
	return 0;
}
