/* customer.h - what other modules need to select a customer's usage. */
#ifndef PB_CUSTOMER_H
#define PB_CUSTOMER_H

/* SQL selecting the usage_day rows of customer ?1 (its id): its billing
 * accounts (every sub-account under
 * them) and the sub-accounts it names on their own. */
#define PB_CUSTOMER_USAGE_SQL                                                                     \
	"SELECT u.* FROM usage_day u JOIN dim a ON a.id = u.account "                      \
	" WHERE a.value IN (SELECT account_id FROM customer_account WHERE customer_id = ?1 " \
	"  AND kind = 'billing') "                                                         \
	"UNION ALL SELECT u.* FROM usage_day u JOIN dim s ON s.id = u.subaccount "         \
	" JOIN dim a ON a.id = u.account "                                                 \
	" WHERE s.value IN (SELECT account_id FROM customer_account WHERE customer_id = ?1 " \
	"  AND kind = 'sub') AND a.value NOT IN (SELECT account_id FROM customer_account "  \
	"  WHERE customer_id = ?1 AND kind = 'billing')"

#endif
