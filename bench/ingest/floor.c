/* floor.c - the floors of the ingest benchmark: how fast this machine reads a
 * file (read + memchr over every byte), decompresses it (ISA-L inflate for
 * gzip, libzstd), and hashes it: the plain SHA-256 (one sequential stream)
 * and the tree hash probity registers (SHA-256 of 0x00 || each 1 MiB chunk,
 * then the RFC 6962 nodes: docs/ingest.md), on one core; the ingest threads
 * share the tree's chunks, so its floor divides by the threads.
 * usage: floor read|sha256|tree|inflate FILE   (prints bytes of output) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <zstd.h>

#define BUF (1 << 20)

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		return 1;
	static unsigned char in[BUF], out[4 * BUF];
	unsigned long long total = 0, lines = 0;
	ssize_t n;
	if (!strcmp(argv[1], "read")) {
		while ((n = read(fd, in, BUF)) > 0) {
			total += (unsigned long long)n;
			for (unsigned char *p = in; (p = memchr(p, '\n', (size_t)(in + n - p))); p++)
				lines++;
		}
	} else if (!strcmp(argv[1], "sha256")) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		while ((n = read(fd, in, BUF)) > 0) {
			EVP_DigestUpdate(c, in, (size_t)n);
			total += (unsigned long long)n;
		}
		unsigned char d[32];
		unsigned dl;
		EVP_DigestFinal_ex(c, d, &dl);
		EVP_MD_CTX_free(c);
	} else if (!strcmp(argv[1], "tree")) {
		/* leaf hashes in order; the nodes are folded like a binary counter */
		unsigned char stack[64][32], leaf[32];
		unsigned level[64], sp = 0, dl;
		static const unsigned char zero = 0, one = 1;
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		for (;;) {
			size_t got = 0;
			while (got < BUF && (n = read(fd, in + got, BUF - got)) > 0)
				got += (size_t)n;
			if (!got)
				break;
			EVP_DigestInit_ex(c, EVP_sha256(), NULL);
			EVP_DigestUpdate(c, &zero, 1);
			EVP_DigestUpdate(c, in, got);
			EVP_DigestFinal_ex(c, leaf, &dl);
			total += got;
			unsigned lv = 0;
			while (sp && level[sp - 1] == lv) {
				EVP_DigestInit_ex(c, EVP_sha256(), NULL);
				EVP_DigestUpdate(c, &one, 1);
				EVP_DigestUpdate(c, stack[sp - 1], 32);
				EVP_DigestUpdate(c, leaf, 32);
				EVP_DigestFinal_ex(c, leaf, &dl);
				sp--;
				lv++;
			}
			memcpy(stack[sp], leaf, 32);
			level[sp++] = lv;
		}
		EVP_MD_CTX_free(c);
	} else if (!strcmp(argv[1], "inflate")) {
		n = read(fd, in, 4);
		lseek(fd, 0, SEEK_SET);
		if (n == 4 && in[0] == 0x1f && in[1] == 0x8b) {
			struct inflate_state s;
			isal_inflate_init(&s);
			s.crc_flag = ISAL_GZIP;
			while ((n = read(fd, in, BUF)) > 0) {
				s.next_in = in;
				s.avail_in = (uint32_t)n;
				while (s.avail_in || s.block_state != ISAL_BLOCK_FINISH) {
					s.next_out = out;
					s.avail_out = sizeof(out);
					if (isal_inflate(&s) < 0)
						return 1;
					total += sizeof(out) - s.avail_out;
					if (s.avail_out == sizeof(out) && !s.avail_in)
						break;
				}
			}
		} else {
			ZSTD_DCtx *z = ZSTD_createDCtx();
			while ((n = read(fd, in, BUF)) > 0) {
				ZSTD_inBuffer ib = { in, (size_t)n, 0 };
				while (ib.pos < ib.size) {
					ZSTD_outBuffer ob = { out, sizeof(out), 0 };
					if (ZSTD_isError(ZSTD_decompressStream(z, &ob, &ib)))
						return 1;
					total += ob.pos;
				}
			}
			ZSTD_freeDCtx(z);
		}
	} else {
		return 2;
	}
	printf("%llu\n", total);
	(void)lines;
	return 0;
}
