/**
 * Matrix Invite with a space (issue 18) through n8n's engine against the fake homeserver, whose
 * restricted joins copy the spec's "Restricted rooms" (room v8+, allow `m.room_membership`) and
 * Synapse's `check_restricted_join_rules`: one invite to the space is all an attendee needs; a
 * revoke takes them out of the space and of its children restricted to it, nowhere else.
 */
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { runWorkflow, wf } from '../harness/engine';

const node = (parameters: IDataObject) =>
	wf([
		{
			name: 'Matrix',
			type: 'matrixInvite',
			parameters: parameters as never,
			credentials: ['matrixBotApi'],
		},
	]);

describe('Matrix Invite node: spaces with restricted child rooms', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop());

	test('invite to a space → 1 invite, the attendee joins a child room; revoke → out of the space and its restricted children, not an unrelated room', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const attendee = hs.createUser('attendee');
		const space = hs.createRoom({
			creator: bot.userId,
			roomType: 'm.space',
			alias: '#conf:localhost',
		});
		const children = ['Talks', 'Hallway'].map((name) => {
			const child = hs.createRoom({ creator: bot.userId, name });
			hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: child });
			hs.setState(child, 'm.room.join_rules', {
				join_rule: 'restricted',
				allow: [{ type: 'm.room_membership', room_id: space }],
			});
			return child;
		});
		const unrelated = hs.createRoom({ creator: bot.userId, members: [attendee.userId] });
		const credentials: { matrixBotApi: ICredentialDataDecryptedObject } = {
			matrixBotApi: {
				homeserverUrl: hs.url,
				authMode: 'accessToken',
				accessToken: bot.accessToken,
			},
		};

		const invite = await runWorkflow({
			workflow: node({
				operation: 'invite',
				rooms: '#conf:localhost',
				userId: '={{ $json.matrixId }}',
			}),
			credentials,
			input: [{ matrixId: attendee.userId }],
		});
		expect(invite.status).toBe('success');
		expect((invite.output('Matrix')[0].matrix as IDataObject).status).toBe('invited');
		expect(hs.inviteCount(space, attendee.userId)).toBe(1);
		for (const child of children) expect(hs.inviteCount(child, attendee.userId)).toBe(0);

		// The attendee accepts and walks into a child room on the strength of the space alone.
		const join = (roomId: string) =>
			fetch(`${hs.url}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
				method: 'POST',
				headers: {
					authorization: `Bearer ${attendee.accessToken}`,
					'content-type': 'application/json',
				},
				body: '{}',
			});
		expect((await join(space)).status).toBe(200);
		expect((await join(children[0])).status).toBe(200);
		expect(hs.membership(children[0], attendee.userId)).toBe('join');

		const revoke = await runWorkflow({
			workflow: node({
				operation: 'revoke',
				rooms: '#conf:localhost',
				userId: '={{ $json.matrixId }}',
				options: { restrictedChildren: true },
			}),
			credentials,
			input: [{ matrixId: attendee.userId }],
		});
		expect(revoke.status).toBe('success');
		const result = revoke.output('Matrix')[0].matrix as IDataObject;
		expect(result.status).toBe('removed');
		const [room] = result.rooms as IDataObject[];
		expect(room.childRooms).toEqual([
			{ roomId: children[0], status: 'removed', reason: 'removed', attempts: 1 },
		]);
		expect(hs.membership(space, attendee.userId)).toBe('leave');
		expect(hs.membership(children[0], attendee.userId)).toBe('leave');
		expect(hs.membership(children[1], attendee.userId)).toBeUndefined();
		expect(hs.membership(unrelated, attendee.userId)).toBe('join');
	});

	test('Revoke From Restricted Child Rooms off (the default, also when unset): only the space', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const attendee = hs.createUser('attendee');
		const space = hs.createRoom({
			creator: bot.userId,
			roomType: 'm.space',
			members: [attendee.userId],
		});
		const child = hs.createRoom({ creator: bot.userId, members: [attendee.userId] });
		hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: child });
		hs.setState(child, 'm.room.join_rules', {
			join_rule: 'restricted',
			allow: [{ type: 'm.room_membership', room_id: space }],
		});
		const run = await runWorkflow({
			workflow: node({
				operation: 'revoke',
				rooms: space,
				userId: '={{ $json.matrixId }}',
				options: { restrictedChildren: false },
			}),
			credentials: {
				matrixBotApi: {
					homeserverUrl: hs.url,
					authMode: 'accessToken',
					accessToken: bot.accessToken,
				},
			},
			input: [{ matrixId: attendee.userId }],
		});
		expect((run.output('Matrix')[0].matrix as IDataObject).status).toBe('removed');
		expect(hs.membership(space, attendee.userId)).toBe('leave');
		expect(hs.membership(child, attendee.userId)).toBe('join');
	});
});
