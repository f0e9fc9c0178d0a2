/**
 * Spaces with restricted children (issue 18), against the fake homeserver's copy of the spec's
 * "Spaces" and "Restricted rooms" rules: one invite to the space lets the attendee into every child
 * restricted to it; a revocation takes them out of the space and of exactly those children.
 */
import { fetchTransport } from '../../../lib/http/fetch-transport';
import { MatrixClient } from '../../../lib/matrix/client';
import { inviteUsers, revokeUsers } from '../../../lib/matrix/invite-engine';
import { restrictedTo, spaceChildren } from '../../../lib/matrix/spaces';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

function client(hs: FakeHomeserver, token: string) {
	return new MatrixClient(
		hs.url,
		fetchTransport(() => `Bearer ${token}`),
	);
}

const retry = { deadline: Infinity, maxRetries: 0 };

describe('restrictedTo (spec "Restricted rooms")', () => {
	test('restrictedTo: restricted and knock_restricted with the space in allow; not another space, not invite', () => {
		const allow = [{ type: 'm.room_membership', room_id: '!space:hs' }];
		expect(restrictedTo({ join_rule: 'restricted', allow }, '!space:hs')).toBe(true);
		expect(restrictedTo({ join_rule: 'knock_restricted', allow }, '!space:hs')).toBe(true);
		expect(restrictedTo({ join_rule: 'restricted', allow }, '!other:hs')).toBe(false);
		expect(restrictedTo({ join_rule: 'invite', allow }, '!space:hs')).toBe(false);
		expect(
			restrictedTo({ join_rule: 'restricted', allow: [{ room_id: '!space:hs' }] }, '!space:hs'),
		).toBe(false);
		expect(restrictedTo(undefined, '!space:hs')).toBe(false);
	});
});

describe('spaces with restricted child rooms', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop());

	/** A space with three children restricted to it (spec: allow `m.room_membership` of the space). */
	async function setUp() {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const attendee = hs.createUser('attendee');
		const space = hs.createRoom({ creator: bot.userId, roomType: 'm.space', name: 'Conf' });
		const children = ['Talks', 'Hallway', 'Workshops'].map((name) => {
			const child = hs.createRoom({ creator: bot.userId, name });
			hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: child });
			hs.setState(child, 'm.room.join_rules', {
				join_rule: 'restricted',
				allow: [{ type: 'm.room_membership', room_id: space }],
			});
			return child;
		});
		return { bot, attendee, space, children };
	}

	async function joinAs(token: string, roomId: string): Promise<number> {
		const res = await fetch(`${hs.url}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: '{}',
		});
		return res.status;
	}

	test('spaceChildren: m.space.child events with a non-empty via only (spec "Spaces"), each with its join rule', async () => {
		const { bot, space, children } = await setUp();
		const removed = hs.createRoom({ creator: bot.userId });
		hs.setState(space, 'm.space.child', { via: [] }, { stateKey: removed });
		const plain = hs.createRoom({ creator: bot.userId });
		hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: plain });
		const found = await spaceChildren(client(hs, bot.accessToken), space, retry);
		expect(found.map((c) => c.roomId).sort()).toEqual([...children, plain].sort());
		expect(found.find((c) => c.roomId === plain)).toEqual({
			roomId: plain,
			joinRule: 'invite',
			restricted: false,
		});
		expect(found.filter((c) => c.restricted)).toHaveLength(3);
	});

	test('invite into a space: 1 invite per attendee, none into the 3 children, and the attendee can join all three', async () => {
		const { bot, attendee, space, children } = await setUp();
		const { results } = await inviteUsers(client(hs, bot.accessToken), [
			{ room: space, userId: attendee.userId },
		]);
		expect(results.map((r) => r.status)).toEqual(['invited']);
		expect(hs.inviteCount(space, attendee.userId)).toBe(1);
		for (const child of children) expect(hs.inviteCount(child, attendee.userId)).toBe(0);
		expect(await joinAs(attendee.accessToken, space)).toBe(200);
		for (const child of children) {
			expect(await joinAs(attendee.accessToken, child)).toBe(200);
			expect(hs.membership(child, attendee.userId)).toBe('join');
		}
	});

	test('revoke from a space: out of the space and its restricted children; others stay, an unrestricted child and a room it cannot kick in are reported, not touched', async () => {
		const { bot, attendee, space, children } = await setUp();
		const other = hs.createUser('other');
		hs.setMembership(space, attendee.userId, 'join');
		hs.setMembership(space, other.userId, 'join');
		for (const child of children.slice(0, 2)) {
			hs.setMembership(child, attendee.userId, 'join');
			hs.setMembership(child, other.userId, 'join');
		}
		// Third child: an invite pending (restricted rooms may still be invited to).
		hs.setMembership(children[2], attendee.userId, 'invite', { sender: bot.userId });
		// A child that is invite-only: the attendee got in by other means; it is not the space's to take.
		const invited = hs.createRoom({ creator: bot.userId, members: [attendee.userId] });
		hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: invited });
		// A restricted child where the bot lacks kick power (Synapse event auth: kick level 50).
		const owner = hs.createUser('owner');
		const locked = hs.createRoom({ creator: owner.userId, members: [bot.userId, attendee.userId] });
		hs.setState(locked, 'm.room.join_rules', {
			join_rule: 'restricted',
			allow: [{ type: 'm.room_membership', room_id: space }],
		});
		hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: locked });
		// A room outside the space entirely.
		const unrelated = hs.createRoom({ creator: bot.userId, members: [attendee.userId] });

		const { results } = await revokeUsers(client(hs, bot.accessToken), [
			{ room: space, userId: attendee.userId },
		]);
		expect(results[0].status).toBe('removed');
		const byRoom = Object.fromEntries(results[0].childRooms!.map((c) => [c.roomId, c]));
		expect(byRoom[children[0]].status).toBe('removed');
		expect(byRoom[children[1]].status).toBe('removed');
		expect(byRoom[children[2]].status).toBe('withdrawn');
		expect(byRoom[locked]).toMatchObject({ status: 'notPermitted', reason: 'insufficientPower' });
		expect(byRoom[invited]).toBeUndefined();
		expect(hs.membership(space, attendee.userId)).toBe('leave');
		for (const child of children) expect(hs.membership(child, attendee.userId)).toBe('leave');
		expect(hs.membership(locked, attendee.userId)).toBe('join');
		expect(hs.membership(invited, attendee.userId)).toBe('join');
		expect(hs.membership(unrelated, attendee.userId)).toBe('join');
		expect(hs.membership(space, other.userId)).toBe('join');
		for (const child of children.slice(0, 2))
			expect(hs.membership(child, other.userId)).toBe('join');
		// And out of the space, the restricted rooms refuse the way back in.
		expect(await joinAs(attendee.accessToken, children[0])).toBe(403);
	});

	test('restrictedChildren: false — only the space itself', async () => {
		const { bot, attendee, space, children } = await setUp();
		hs.setMembership(space, attendee.userId, 'join');
		hs.setMembership(children[0], attendee.userId, 'join');
		const { results } = await revokeUsers(
			client(hs, bot.accessToken),
			[{ room: space, userId: attendee.userId }],
			{ restrictedChildren: false },
		);
		expect(results[0].status).toBe('removed');
		expect(results[0].childRooms).toBeUndefined();
		expect(hs.membership(children[0], attendee.userId)).toBe('join');
	});
});
