import { WEBHOOK_FIXTURES, webhookFixture } from '../../fakes/pretix';
import { actionFamily, actionMatches, DEFAULT_TRIGGER_ACTIONS, parseWebhookBody, validateWebhookPayload, MAX_WEBHOOK_BODY_BYTES } from '../../../lib/pretix';

describe('webhook payload validation', () => {
	test.each(WEBHOOK_FIXTURES)('fixture %s is valid', (name) => {
		const body = webhookFixture(name);
		const r = validateWebhookPayload(body);
		expect(r).toEqual({ ok: true, payload: body });
		expect(parseWebhookBody(JSON.stringify(body)).ok).toBe(true);
	});

	const base = { notification_id: 1, organizer: 'exampleorg', event: 'summit26', code: 'ABC3K', action: 'pretix.event.order.paid' };
	test.each([
		['array', [], 'JSON object'],
		['null', null, 'JSON object'],
		['string id', { ...base, notification_id: '1' }, 'notification_id'],
		['float id', { ...base, notification_id: 1.5 }, 'notification_id'],
		['negative id', { ...base, notification_id: -1 }, 'notification_id'],
		['missing action', { ...base, action: undefined }, 'action'],
		['foreign action', { ...base, action: 'evil.event' }, 'action'],
		['action with spaces', { ...base, action: 'pretix.event order' }, 'action'],
		['organizer object', { ...base, organizer: { a: 1 } }, 'organizer'],
		['organizer path', { ...base, organizer: '../x' }, 'organizer'],
		['order without code', { ...base, code: undefined }, 'code'],
		['code with symbols', { ...base, code: 'AB-12' }, 'code'],
		['order without event', { ...base, event: undefined }, 'event'],
	])('rejects %s', (_name, body, field) => {
		const r = validateWebhookPayload(body);
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.reason).toContain(field);
	});

	test('reasons never echo the values received', () => {
		const r = validateWebhookPayload({ ...base, code: '@alice:example.org' });
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.reason).not.toContain('alice');
	});

	test('customer actions need no event; unknown extra fields are kept', () => {
		expect(validateWebhookPayload({ notification_id: 5, organizer: 'exampleorg', action: 'pretix.customer.created', customer: 'ABC' }).ok).toBe(true);
		const checkin = webhookFixture('checkin');
		const r = validateWebhookPayload(checkin);
		expect(r.ok && r.payload.orderposition_id).toBe(5001);
	});

	test('raw bodies: empty, oversized, broken JSON', () => {
		expect(parseWebhookBody('')).toEqual({ ok: false, reason: 'The request has no body.' });
		expect(parseWebhookBody(undefined).ok).toBe(false);
		expect(parseWebhookBody('{"notification_id": 1,').ok).toBe(false);
		const big = JSON.stringify({ ...base, pad: 'x'.repeat(MAX_WEBHOOK_BODY_BYTES) });
		const r = parseWebhookBody(Buffer.from(big));
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.reason).toMatch(/larger than/);
	});
});

describe('action matching', () => {
	test('families', () => {
		expect(actionFamily('pretix.event.order.changed.cancel')).toBe('order');
		expect(actionFamily('pretix.event.checkin.reverted')).toBe('checkin');
		expect(actionFamily('pretix.event.changed')).toBe('event');
		expect(actionFamily('pretix.customer.created')).toBe('customer');
	});

	test('wildcards like pretix: changed.* covers every concrete changed action, placed does not cover placed.require_approval', () => {
		expect(actionMatches(DEFAULT_TRIGGER_ACTIONS, 'pretix.event.order.changed.cancel')).toBe(true);
		expect(actionMatches(DEFAULT_TRIGGER_ACTIONS, 'pretix.event.order.changed.split_from')).toBe(true);
		expect(actionMatches(DEFAULT_TRIGGER_ACTIONS, 'pretix.event.order.placed.require_approval')).toBe(false);
		expect(actionMatches(DEFAULT_TRIGGER_ACTIONS, 'pretix.event.order.payment.confirmed')).toBe(false);
		expect(actionMatches(['pretix.event.order.*'], 'pretix.event.order.paid')).toBe(true);
		expect(actionMatches(['pretix.event.order.paid'], 'pretix.event.order.paid')).toBe(true);
	});
});

describe('trigger defaults', () => {
	test('the node default action list equals DEFAULT_TRIGGER_ACTIONS', async () => {
		const { PretixTrigger } = await import('../../../nodes/PretixTrigger/PretixTrigger.node');
		const actions = new PretixTrigger().description.properties.find((p) => p.name === 'actions')!;
		expect(actions.default).toEqual(DEFAULT_TRIGGER_ACTIONS);
	});
});
