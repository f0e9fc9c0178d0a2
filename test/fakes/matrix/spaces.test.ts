/**
 * Spaces and restricted joins in the fake homeserver, each checked against the rule it copies:
 * the spec's "Restricted rooms" (room versions 8+, `allow: [{type: 'm.room_membership', room_id}]`)
 * as Synapse's handlers/event_auth.py `check_restricted_join_rules` enforces it.
 */
import { startFakeHomeserver, type FakeHomeserver } from '.';

describe('fake homeserver: restricted join rules', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop());

	async function join(token: string, roomId: string) {
		const res = await fetch(`${hs.url}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: '{}',
		});
		return { status: res.status, body: (await res.json()) as Record<string, unknown> };
	}

	async function setUp(roomVersion = '10') {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const space = hs.createRoom({ creator: bot.userId, roomType: 'm.space' });
		const child = hs.createRoom({ creator: bot.userId, roomVersion });
		hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: child });
		hs.setState(child, 'm.room.join_rules', {
			join_rule: 'restricted',
			allow: [{ type: 'm.room_membership', room_id: space }],
		});
		return { bot, space, child };
	}

	test('a member of the allowed space joins the restricted room without an invite; the join names who authorised it (join_authorised_via_users_server)', async () => {
		const { bot, space, child } = await setUp();
		const alice = hs.createUser('alice');
		hs.setMembership(space, alice.userId, 'join');
		const answer = await join(alice.accessToken, child);
		expect(answer).toEqual({ status: 200, body: { room_id: child } });
		expect(hs.membership(child, alice.userId)).toBe('join');
		expect(hs.inviteCount(child, alice.userId)).toBe(0);
		const events = hs.timeline(child, 'm.room.member').filter((e) => e.state_key === alice.userId);
		expect(events.at(-1)!.content.join_authorised_via_users_server).toBe(bot.userId);
	});

	test('someone not joined to the space is refused 403 M_FORBIDDEN (check_restricted_join_rules)', async () => {
		const { space, child } = await setUp();
		const mallory = hs.createUser('mallory');
		// Invited to the space but not joined: an invite to an allowed room does not count.
		hs.setMembership(space, mallory.userId, 'invite');
		const answer = await join(mallory.accessToken, child);
		expect(answer.status).toBe(403);
		expect(answer.body.errcode).toBe('M_FORBIDDEN');
		expect(hs.membership(child, mallory.userId)).toBeUndefined();
	});

	test('room version 7 does not know the restricted rule (room_versions.py restricted_join_rule): the room stays invite-only', async () => {
		const { space, child } = await setUp('7');
		const alice = hs.createUser('alice');
		hs.setMembership(space, alice.userId, 'join');
		const answer = await join(alice.accessToken, child);
		expect(answer.status).toBe(403);
		expect(answer.body).toMatchObject({
			errcode: 'M_FORBIDDEN',
			error: 'You are not invited to this room.',
		});
	});

	test('no joined member with invite power: 400 M_UNABLE_TO_GRANT_JOIN (get_user_which_could_invite)', async () => {
		const { bot, space, child } = await setUp();
		const alice = hs.createUser('alice');
		hs.setMembership(space, alice.userId, 'join');
		hs.setMembership(child, bot.userId, 'leave');
		const answer = await join(alice.accessToken, child);
		expect(answer.status).toBe(400);
		expect(answer.body.errcode).toBe('M_UNABLE_TO_GRANT_JOIN');
	});
});
