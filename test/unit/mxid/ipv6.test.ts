import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import { isValidServerName } from '../../../lib/mxid';

/**
 * The grammar checks `[IPv6]` server names without `node:net` (n8n's community-package rules
 * restrict Node built-ins). These tests hold it to what Node's `net.isIPv6` decides, over the
 * characters the Matrix spec allows inside the brackets (IPv6char: digits, A–F, a–f, ":" and ".").
 */
const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;
const nodeVerdict = (body: string) => IPV6_CHARS.test(body) && isIPv6(body);
const ourVerdict = (body: string) => isValidServerName(`[${body}]`);

const hexGroup = fc.stringMatching(/^[0-9A-Fa-f]{1,5}$/);
const octet = fc.oneof(
	fc.integer({ min: 0, max: 300 }).map(String),
	fc.constantFrom('00', '01', '010', '255', '256'),
);
const dottedTail = fc
	.array(octet, { minLength: 3, maxLength: 5 })
	.map((octets) => octets.join('.'));
const piece = fc.oneof(
	{ weight: 6, arbitrary: hexGroup },
	{ weight: 3, arbitrary: fc.constant(':') },
	{ weight: 2, arbitrary: fc.constant('::') },
	{ weight: 1, arbitrary: dottedTail },
	{ weight: 1, arbitrary: fc.constant('.') },
);
const candidate = fc.array(piece, { minLength: 1, maxLength: 16 }).map((pieces) => pieces.join(''));
/** Well-formed addresses (eight groups, some zero runs compressed, some with an IPv4 tail). */
const address = fc
	.tuple(
		fc.array(fc.stringMatching(/^[0-9a-f]{1,4}$/), { minLength: 8, maxLength: 8 }),
		fc.nat(8),
		fc.nat(8),
		fc.boolean(),
		fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
	)
	.map(([groups, from, length, ipv4, octets]) => {
		const head = ipv4 ? [...groups.slice(0, 6), octets.join('.')] : groups;
		const start = Math.min(from, head.length);
		const end = Math.min(head.length, start + length);
		// A `::` that stands for no group at all is one of the invalid forms to compare.
		if (end === start)
			return from % 2
				? head.join(':')
				: `${head.slice(0, start).join(':')}::${head.slice(start).join(':')}`;
		return `${head.slice(0, start).join(':')}::${head.slice(end).join(':')}`;
	});

describe('[IPv6] server names: the same verdict as Node’s net.isIPv6', () => {
	it.each([
		['::1', true],
		['::', true],
		['1234:5678::abcd', true],
		['1:2:3:4:5:6:7:8', true],
		['1:2:3:4:5:6:7::', true],
		['::ffff:192.0.2.1', true],
		['1:2:3:4:5:6:192.0.2.1', true],
		['1:2:3:4:5:6:7:8:9', false],
		['1:2:3:4:5:6:7::8', false],
		['::1:2:3:4:5:6:7:8', false],
		['1:2:3:4:5:6::192.0.2.1', false],
		['1::2::3', false],
		[':1', false],
		['1:', false],
		['12345::', false],
		['::ffff:192.0.2.256', false],
		['::ffff:192.0.2.01', false],
		['192.0.2.1::', false],
		['::192.0.2.1:1', false],
		['zz::1', false],
	])('%s → %s', (body, expected) => {
		expect(nodeVerdict(body)).toBe(expected);
		expect(ourVerdict(body)).toBe(expected);
	});

	it('agrees with net.isIPv6 on random candidates', () => {
		fc.assert(
			fc.property(candidate, (body) => ourVerdict(body) === nodeVerdict(body)),
			{ numRuns: 20_000 },
		);
	});

	it('agrees with net.isIPv6 on eight-group addresses, compressed or not, some with a `::` too many', () => {
		fc.assert(
			fc.property(address, (body) => ourVerdict(body) === nodeVerdict(body)),
			{ numRuns: 5_000 },
		);
	});
});
