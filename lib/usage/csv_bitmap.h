/* csv_bitmap.h - the body of the bitmap record parser, included twice by
 * csv.c: once with SSE2 masks, once with AVX2 masks, each compiled for its
 * own target. Define PB_BITMAP_NAME, PB_BITMAP_ATTR and PB_BITMAP_MASKS first.
 * (A template by inclusion keeps one copy of the logic.) */

PB_BITMAP_ATTR static const char *
PB_BITMAP_NAME(const char *rec_start, const char *end, struct pb_csv_field *fields, size_t cap,
             struct pb_csv_record *rec)
{
	const char *base = rec_start;  /* start of the current block */
	uint64_t carry = 0;            /* all ones when the block starts inside quotes */
	uint64_t qcount = 0;           /* quotes before the current block */
	const char *fstart = rec_start;
	uint64_t fq = 0;               /* quotes before fstart */
	uint64_t badcount = 0;         /* bytes outside quotes that are not quotes, before the block */
	uint64_t fbad = 0;             /* ... before fstart */
	size_t nf = 0;
	uint32_t lines = 0;
	char tail[64];
	rec->problem = PB_CSV_OK;
	rec->problem_field = 0;
	for (;;) {
		size_t avail = (size_t)(end - base);
		const char *blk = base;
		uint64_t valid = ~0ULL;
		if (avail < 64) {
			memset(tail, 0, sizeof(tail));
			memcpy(tail, base, avail);
			blk = tail;
			valid = avail ? (~0ULL >> (64 - avail)) : 0;
		}
		uint64_t q, c, n;
		PB_BITMAP_MASKS(blk, &q, &c, &n);
		q &= valid;
		c &= valid;
		n &= valid;
		uint64_t inq = prefix_xor(q) ^ carry;
		uint64_t sep = (c | n) & ~inq;
		/* in a quoted field, every byte outside the quotes must be a quote
		 * (a closing quote, or half of a doubled one): count the others */
		uint64_t bad = ~inq & ~q & valid;
		/* LFs inside quotes belong to a multi-line field (counted up to the
		 * record's end: later bits belong to the next records) */
		uint64_t inner_lf = n & inq;
		while (sep) {
			unsigned bit = (unsigned)__builtin_ctzll(sep);
			sep &= sep - 1;
			const char *at = base + bit;
			uint64_t below = (1ULL << bit) - 1;
			uint64_t qbefore = qcount + (uint64_t)__builtin_popcountll(q & below);
			uint64_t badbefore = badcount + (uint64_t)__builtin_popcountll(bad & below);
			uint64_t nq = qbefore - fq;
			bool is_lf = *at == '\n';
			const char *fend = at;
			if (is_lf && fend > fstart && fend[-1] == '\r')
				fend--;
			if (nf == cap) {
				rec->problem = PB_CSV_TOO_MANY;
				rec->problem_field = (uint32_t)nf + 1;
				goto bad;
			}
			/* in a quoted field, a byte outside the quotes that is not a quote
			 * means a quote that is not doubled */
			if (!fill_field(&fields[nf++], fstart, fend, nq,
			                badbefore - fbad == (uint64_t)(at - fend)))
				goto bad;
			fstart = at + 1;
			fq = qbefore;
			fbad = badbefore + 1; /* the separator itself is outside and not a quote */
			if (is_lf) {
				rec->nfields = nf;
				lines += (uint32_t)__builtin_popcountll(inner_lf & ((1ULL << bit) - 1));
				rec->lines = lines + 1;
				return at + 1;
			}
		}
		lines += (uint32_t)__builtin_popcountll(inner_lf);
		qcount += (uint64_t)__builtin_popcountll(q);
		badcount += (uint64_t)__builtin_popcountll(bad);
		carry = (uint64_t)((int64_t)inq >> 63);
		if (avail <= 64)
			break;
		base += 64;
	}
	/* the input ends without a LF */
	if (carry) {
		rec->problem = PB_CSV_UNBALANCED;
		rec->problem_field = (uint32_t)nf + 1;
		goto bad;
	}
	{
		if (nf == cap) {
			rec->problem = PB_CSV_TOO_MANY;
			rec->problem_field = (uint32_t)nf + 1;
			goto bad;
		}
		const char *fend = end;
		if (fend > fstart && fend[-1] == '\r')
			fend--;
		if (!fill_field(&fields[nf++], fstart, fend, qcount - fq,
		                badcount - fbad == (uint64_t)(end - fend)))
			goto bad;
		rec->nfields = nf;
		rec->lines = lines;
		return end;
	}
bad:
	/* rare: let the field-at-a-time parser name the field a person would
	 * point at (it also skips the record by parity) */
	return pb__csv_parse_record_simple(rec_start, end, fields, cap, rec);
}
