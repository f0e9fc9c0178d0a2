/**
 * Tickets decide who is in (issue 11), in a real n8n 2.x with the shipped templates, against the
 * strict fake pretix and the fake homeserver: one test per case of the issue, each asserting who
 * is invited and who is removed at the homeserver — and who is not (the person's other ticket, the
 * other attendees, an outsider, a hostile registrant).
 */
import path from 'node:path';

import { Ledger, SqliteBackend } from '../../lib/store';
import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { DEMO_LEDGER_SECRET, templateCredentials } from '../../scripts/template-credentials';
import { delay, N8nInstance } from '../harness/n8n';
import { batchInvite, command, loadTemplates, waitForNotification, webhookPath } from './support';

const ALICE = '@alice:example.org';
const PEOPLE = ['@alice:example.org', '@dave:example.org', '@frank:example.org', '@grace:example.net', '@heidi:chat.example.org', '@laura:example.org', '@peggy:example.org'];

type Json = Record<string, unknown>;

describe('tickets decide who is in (real n8n, strict fake pretix)', () => {
	let services: DemoServices;
	let n8n: N8nInstance;
	let ledger: Ledger;
	let room: string;

	const membership = (user: string, roomId = room) => services.homeserver.membership(roomId, user) ?? 'none';
	const memberships = (users: string[], roomId = room) => Object.fromEntries(users.map((u) => [u, membership(u, roomId)]));
	/**
	 * pretix tells n8n about a change the way it does: a notification, delivered to the webhook. The
	 * trigger starts no run for actions it does not follow or orders without tickets (`run: false`).
	 */
	async function notify(action: string, code: string, options: { event?: string; run?: boolean } = {}): Promise<void> {
		const sent = services.pretix.notify(action, { event: options.event ?? 'summit26', code });
		expect(await Promise.all(sent.deliveries.map((d) => d.done))).toEqual(['delivered']);
		if (options.run === false) await delay(2000);
		else await waitForNotification(n8n, sent.notificationId);
	}
	const order = (code: string, event = 'summit26') => services.pretix.findOrder(code, 'exampleorg', event) as Json & { positions: Json[] };
	function newOrder(answer: string, changes: Json = {}): string {
		const created = services.pretix.copyOrder({ status: 'p', ...changes }) as Json & { code: string; positions: Json[] };
		services.pretix.setAnswer(created.code, Number(created.positions[0].id), answer);
		return created.code;
	}

	beforeAll(async () => {
		services = await startDemoServices();
		room = services.attendeesRoom;
		// Synapse's override_ratelimit for the bot, as a big event would have: this file is about who
		// is invited, not how fast (test/bench and the reliability suite measure that).
		services.homeserver.exemptFromRateLimits(services.botUserId);
		const templates = loadTemplates(services, { only: ['pretixMatrixWebhookInvite', 'pretixMatrixBatchInvite', 'pretixMatrixRoomMapping', 'pretixMatrixOrganizer'] });
		n8n = await N8nInstance.start({ label: 'tickets', credentials: templateCredentials(services), workflows: templates });
		const backend = new SqliteBackend({ path: path.join(n8n.userFolder, '.n8n/pretix-matrix-ledger.sqlite') });
		await backend.init();
		ledger = new Ledger(backend, { secret: DEMO_LEDGER_SECRET });
		services.pretix.addWebhook({ target_url: n8n.webhookUrl(webhookPath(templates)), action_types: ['pretix.event.order.*'] });
		await delay(3000);
		expect(await command(services, n8n, room, `!setroom ${services.pretixUrl}/exampleorg/summit26/`)).toEqual([expect.stringContaining('exampleorg/summit26')]);
		const batch = await batchInvite(services, n8n, room);
		expect(batch.at(-1)).toMatch(/Batch invite finished/);
		// Everyone of the fixture event with a usable Matrix ID is invited once; they join.
		for (const user of PEOPLE) {
			expect({ user, count: services.homeserver.inviteCount(room, user) }).toEqual({ user, count: 1 });
			services.homeserver.setMembership(room, user, 'join', { sender: user });
		}
	}, 300_000);

	afterAll(async () => {
		await n8n?.destroy();
		await services?.stop();
	});

	test('case 1: a stranger\'s unpaid order naming a real attendee removes nobody, nor does its cancellation', async () => {
		const attack = newOrder(ALICE, { status: 'n' });
		await notify('pretix.event.order.placed', attack);
		services.pretix.cancelOrder(attack);
		await notify('pretix.event.order.canceled', attack);
		expect(membership(ALICE)).toBe('join');
		expect(services.homeserver.inviteCount(room, ALICE)).toBe(1);
	});

	test('case 1: one of two tickets of the same person canceled keeps her in; the second removes her, nobody else', async () => {
		// ABC3K and P3HJK are both Alice's.
		services.pretix.cancelOrder('ABC3K');
		await notify('pretix.event.order.canceled', 'ABC3K');
		expect(membership(ALICE)).toBe('join');
		services.pretix.cancelOrder('P3HJK');
		await notify('pretix.event.order.canceled', 'P3HJK');
		expect(memberships(PEOPLE)).toEqual({ ...Object.fromEntries(PEOPLE.map((p) => [p, 'join'])), [ALICE]: 'leave' });
	});

	test('case 2: one canceled ticket of an order (order.changed.cancel) removes that attendee only', async () => {
		services.pretix.cancelPosition('E3PZV', 5007);
		await notify('pretix.event.order.changed.cancel', 'E3PZV');
		expect(memberships(['@frank:example.org', '@grace:example.net', '@heidi:chat.example.org'])).toEqual({ '@frank:example.org': 'join', '@grace:example.net': 'leave', '@heidi:chat.example.org': 'join' });
	});

	test('case 3: canceled with a fee (order stays paid, every ticket canceled) removes the attendee', async () => {
		services.pretix.cancelWithFee('J9QRS');
		expect(order('J9QRS').status).toBe('p');
		await notify('pretix.event.order.canceled', 'J9QRS');
		expect(membership('@laura:example.org')).toBe('leave');
		expect(membership('@dave:example.org')).toBe('join');
	});

	test('case 4: awaiting approval invites nobody until approved and paid; valid_if_pending invites; blocked and expired tickets lose the room', async () => {
		services.homeserver.createUser('@approval:example.org');
		const pending = newOrder('@approval:example.org', { status: 'n', require_approval: true });
		// pretix sends placed.require_approval for it, which the template does not follow: nothing happens.
		await notify('pretix.event.order.placed.require_approval', pending, { run: false });
		expect(membership('@approval:example.org')).toBe('none');
		services.pretix.approveOrder(pending);
		await notify('pretix.event.order.approved', pending);
		expect(membership('@approval:example.org')).toBe('none');
		services.pretix.updateOrder(pending, (o) => (o.status = 'p'));
		await notify('pretix.event.order.paid', pending);
		expect(membership('@approval:example.org')).toBe('invite');

		services.homeserver.createUser('@invoice:example.org');
		const invoice = newOrder('@invoice:example.org', { status: 'n', valid_if_pending: true });
		await notify('pretix.event.order.placed', invoice);
		expect(membership('@invoice:example.org')).toBe('invite');

		services.pretix.setBlocked('N7VWZ', 5017, ['admin']);
		await notify('pretix.event.order.changed.other', 'N7VWZ');
		expect(membership('@peggy:example.org')).toBe('leave');

		services.homeserver.createUser('@later:example.org');
		const later = newOrder('@later:example.org');
		services.pretix.setValidity(later, Number(order(later).positions[0].id), { validFrom: new Date(Date.now() + 86_400_000).toISOString() });
		await notify('pretix.event.order.paid', later);
		expect(membership('@later:example.org')).toBe('none');
		expect(membership('@dave:example.org')).toBe('join');
	});

	test('case 6: a changed answer withdraws the old ID\'s invite and invites the new one, once', async () => {
		services.homeserver.createUser('@first:example.org');
		services.homeserver.createUser('@second:example.org');
		const code = newOrder('@first:example.org');
		await notify('pretix.event.order.paid', code);
		expect(membership('@first:example.org')).toBe('invite');
		services.pretix.setAnswer(code, Number(order(code).positions[0].id), '@second:example.org');
		await notify('pretix.event.order.modified', code);
		expect(memberships(['@first:example.org', '@second:example.org'])).toEqual({ '@first:example.org': 'leave', '@second:example.org': 'invite' });
		// pretix delivers the modification again: nothing more happens.
		await notify('pretix.event.order.modified', code);
		expect(services.homeserver.inviteCount(room, '@second:example.org')).toBe(1);
	});

	test('case 7: an add-on mapped to its own room is invited there; a date of a series maps with its URL', async () => {
		const workshop = services.homeserver.createRoom({ creator: services.organizer.userId, name: 'Workshop', members: [services.botUserId], powerLevels: { users: { [services.organizer.userId]: 100, [services.botUserId]: 50 }, invite: 50, kick: 50 } });
		const mapped = await command(services, n8n, workshop, `!setroom ${services.pretixUrl}/exampleorg/summit26/ 203`);
		expect(mapped[0]).toContain('product 203');
		await batchInvite(services, n8n, workshop);
		// Frank booked the workshop (E3PZV's add-on); nobody else did.
		expect(memberships(['@frank:example.org', '@dave:example.org', '@heidi:chat.example.org'], workshop)).toEqual({ '@frank:example.org': 'invite', '@dave:example.org': 'none', '@heidi:chat.example.org': 'none' });
		expect(membership('@frank:example.org')).toBe('join');

		const dates = services.pretix.subEventsOf('exampleorg', 'meetups26') as Array<{ id: number }>;
		const [june, july] = dates;
		for (const user of ['@june:example.org', '@july:example.org']) services.homeserver.createUser(user);
		// One order of the series with a ticket for each of two dates.
		const series = structuredClone(order('ABC3K')) as Json & { positions: Json[] };
		const first = series.positions[0];
		series.code = 'MJUN7';
		series.event = 'meetups26';
		series.status = 'p';
		series.positions = [june, july].map((date, n) => ({ ...structuredClone(first), id: 900001 + n, positionid: n + 1, order: 'MJUN7', subevent: date.id, canceled: false, answers: [{ question: 101, question_identifier: 'matrix', answer: n === 0 ? '@june:example.org' : '@july:example.org', options: [], option_identifiers: [] }] }));
		services.pretix.addOrder(series, 'exampleorg', 'meetups26', true);
		const juneRoom = services.homeserver.createRoom({ creator: services.organizer.userId, name: 'June meetup', members: [services.botUserId], powerLevels: { users: { [services.organizer.userId]: 100, [services.botUserId]: 50 }, invite: 50, kick: 50 } });
		const mappedDate = await command(services, n8n, juneRoom, `!setroom ${services.pretixUrl}/exampleorg/meetups26/${june.id}/`);
		expect(mappedDate[0]).toContain(`exampleorg/meetups26/${june.id}`);
		await batchInvite(services, n8n, juneRoom);
		expect(memberships(['@june:example.org', '@july:example.org'], juneRoom)).toEqual({ '@june:example.org': 'invite', '@july:example.org': 'none' });
	});

	test('case 8: someone who left is not invited again by a batch; !reinvite <order> brings them back', async () => {
		services.homeserver.setMembership(room, '@dave:example.org', 'leave', { sender: '@dave:example.org' });
		await batchInvite(services, n8n, room);
		expect(membership('@dave:example.org')).toBe('leave');
		const reply = await command(services, n8n, room, '!reinvite D9HLM');
		expect(reply[0]).toMatch(/1 invited again/);
		expect(membership('@dave:example.org')).toBe('invite');
		// Erin's ticket of the same order is canceled: not invited.
		expect(membership('@erin:example.org')).toBe('none');
		expect(reply[0]).not.toContain('dave');
	});

	test('case 5: a batch while orders change between its pages skips nobody and invites everyone once', async () => {
		const generated = services.pretix.generateOrders({ count: 120, seed: 51 });
		let canceled = '';
		services.pretix.betweenPages((served) => {
			canceled = String(served.results[10].code);
			services.pretix.cancelOrder(canceled);
		});
		await batchInvite(services, n8n, room);
		const valid = generated.attendees.filter((a) => a.kind === 'valid' && a.code !== canceled).map((a) => String(a.answer));
		expect(valid.length).toBeGreaterThan(100);
		expect(valid.filter((user) => services.homeserver.inviteCount(room, user) !== 1)).toEqual([]);
		// The canceled order was read before or after it changed; a second batch settles it either way.
		await batchInvite(services, n8n, room);
		const canceledUsers = generated.attendees.filter((a) => a.code === canceled && a.kind === 'valid').map((a) => String(a.answer));
		for (const user of canceledUsers) expect(['none', 'leave']).toContain(membership(user));
		expect(valid.filter((user) => services.homeserver.inviteCount(room, user) !== 1)).toEqual([]);
	});

	test('bad input: an order with no positions, an unknown status or null answers gives no invite and no removal', async () => {
		const before = memberships(PEOPLE);
		const empty = newOrder(ALICE);
		services.pretix.updateOrder(empty, (o) => (o.positions = []));
		await notify('pretix.event.order.paid', empty, { run: false });
		const odd = newOrder('@dave:example.org');
		services.pretix.updateOrder(odd, (o) => (o.status = 'x'));
		await notify('pretix.event.order.changed.other', odd);
		const nulls = newOrder('@frank:example.org');
		services.pretix.updateOrder(nulls, (o) => ((o.positions as Json[])[0].answers = [{ question: 101, question_identifier: 'matrix', answer: null }]));
		await notify('pretix.event.order.paid', nulls);
		expect(memberships(PEOPLE)).toEqual(before);
		expect((await ledger.lookup({ orderCode: odd })).length).toBe(0);
	});
});
