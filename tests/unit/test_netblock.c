// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_netblock.c - the addresses of blocks: parsing an address or prefix as the CLI,
 * the control socket and actions.allow_cidr take it, its text, and containment (the
 * allowlist check).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "respond/netblock.h"

static const char *round_trip(const char *s)
{
	static char buf[64];
	struct netblock_cidr c;

	if (netblock_cidr_parse(s, &c))
		return "(refused)";
	return netblock_cidr_str(&c, buf, sizeof(buf));
}

Test(netblock, parses_addresses_and_prefixes)
{
	cr_assert_str_eq(round_trip("192.0.2.7"), "192.0.2.7/32");
	cr_assert_str_eq(round_trip("10.1.2.3/8"), "10.0.0.0/8"); /* host bits dropped */
	cr_assert_str_eq(round_trip("0.0.0.0/0"), "0.0.0.0/0");
	cr_assert_str_eq(round_trip("2001:db8::1"), "2001:db8::1/128");
	cr_assert_str_eq(round_trip("2001:db8:ffff::/32"), "2001:db8::/32");
	cr_assert_str_eq(round_trip("::ffff:192.0.2.7"), "192.0.2.7/32"); /* mapped is IPv4 */
}

Test(netblock, refuses_what_is_not_an_address)
{
	static const char *const bad[] = {"",	       "10.0.0.300",  "10.0.0.1/33", "::/129",
					  "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "example.com"};
	struct netblock_cidr c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(netblock_cidr_parse(bad[i], &c), -EINVAL, "%s", bad[i]);
	cr_assert_eq(netblock_cidr_parse(NULL, &c), -EINVAL);
}

Test(netblock, containment_decides_the_allowlist)
{
	struct netblock_cidr net, host, other, v6;

	cr_assert_eq(netblock_cidr_parse("10.20.0.0/16", &net), 0);
	cr_assert_eq(netblock_cidr_parse("10.20.3.4", &host), 0);
	cr_assert_eq(netblock_cidr_parse("10.21.3.4", &other), 0);
	cr_assert_eq(netblock_cidr_parse("2001:db8::1", &v6), 0);
	cr_assert(netblock_cidr_contains(&net, &host));
	cr_assert_not(netblock_cidr_contains(&host, &net));
	cr_assert_not(netblock_cidr_contains(&net, &other));
	cr_assert_not(netblock_cidr_contains(&net, &v6));
}
