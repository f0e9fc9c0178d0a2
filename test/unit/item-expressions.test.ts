import { simpleExpressionValue } from '../../lib/item-expressions';

const attendee = {
	organizer: 'exampleorg',
	event: 'summit26',
	positionId: 1234,
	orderCode: 'ABC12',
	matrixId: '@Alice:example.org',
	subeventId: null,
	mxid: { valid: true, userId: '@alice:example.org' },
	plan: { room: '!room:example.org', userId: '@alice:example.org', removeMember: false },
};
const invalid = { ...attendee, matrixId: null, mxid: { valid: false, reason: 'missingServer' } };
const noMxid = { organizer: 'o', event: 'e' };

describe('simple per-item expressions, computed without the expression engine', () => {
	test.each([
		['={{ $json.organizer }}/{{ $json.event }}', attendee, 'exampleorg/summit26'],
		['={{ $json.positionId }}', attendee, 1234],
		['={{ $json.plan.room }}', attendee, '!room:example.org'],
		["={{ $json.mxid?.valid ? $json.mxid.userId : '' }}", attendee, '@alice:example.org'],
		["={{ $json.mxid?.valid ? $json.mxid.userId : '' }}", invalid, ''],
		["={{ $json.mxid?.valid ? $json.mxid.userId : '' }}", noMxid, ''],
		["={{ $json.mxid?.valid ? '' : ($json.mxid?.reason ?? 'missing') }}", invalid, 'missingServer'],
		["={{ $json.mxid?.valid ? '' : ($json.mxid?.reason ?? 'missing') }}", noMxid, 'missing'],
		["={{ $json.mxid?.valid ? '' : ($json.mxid?.reason ?? 'missing') }}", attendee, ''],
		["={{ $json.matrixId ?? '' }}", attendee, '@Alice:example.org'],
		["={{ $json.matrixId ?? '' }}", invalid, ''],
		['={{ !$json.plan.removeMember }}', attendee, true],
		['=Order {{ $json.orderCode }}, ticket {{ $json.positionId }}', attendee, 'Order ABC12, ticket 1234'],
		// Estimate in the batch template.
		["={{ $json.plan.action === 'invite' ? $json.plan.room : '' }}", { plan: { action: 'invite', room: '!r:x' } }, '!r:x'],
		["={{ $json.plan.action === 'invite' ? $json.plan.room : '' }}", { plan: { action: 'skip', room: '!r:x' } }, ''],
		["={{ $json.plan.action !== 'invite' }}", { plan: { action: 'skip' } }, true],
		["={{ $json.missing?.action === 'invite' ? 'yes' : 'no' }}", {}, 'no'],
	])('%s', (raw, json, expected) => {
		expect(simpleExpressionValue(raw, json as never)).toEqual({ value: expected });
	});

	test.each([
		// Results n8n renders in its own way (null, objects, undefined): left to n8n.
		['={{ $json.subeventId }}', attendee],
		['={{ $json.plan }}', attendee],
		['={{ $json.missing }}', attendee],
		['=id {{ $json.subeventId }}', attendee],
		// Paths JavaScript would throw on, and everything beyond the small grammar.
		['={{ $json.nothing.deeper }}', attendee],
		['={{ $json.constructor }}', attendee],
		['={{ $json.event.split("/")[0] }}', attendee],
		['={{ $input.all().length }}', attendee],
		["={{ $('Request').first().json.roomId }}", attendee],
		['={{ 2 + 2 }}', attendee],
		['={{ $json.orderCode }', attendee],
		['=no braces', attendee],
		['plain text', attendee],
	])('left to n8n: %s', (raw, json) => {
		expect(simpleExpressionValue(raw, json as never)).toBeUndefined();
	});
});
