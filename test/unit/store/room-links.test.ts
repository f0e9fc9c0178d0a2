/**
 * The ledger keeps rooms given as matrix.to or matrix: links (spec appendix "Matrix URI scheme")
 * as the room ID or alias they name: a room mapped or granted by link is the same room as by ID.
 */
import { createInviteCode, Ledger, LedgerInputError, type LedgerBackend } from '../../../lib/store';
import { sqliteStore, type TestStore } from './backends';

const SECRET = 'room-links-test-secret-8d2c4f0a9b71e3';
const EVENT = 'exampleorg/summit26';

describe('rooms given as links in the ledger (embedded backend)', () => {
	let store: TestStore;
	let backend: LedgerBackend;
	let ledger: Ledger;

	beforeEach(async () => {
		store = sqliteStore();
		backend = store.create();
		await backend.init();
		ledger = new Ledger(backend, { secret: SECRET });
	});
	afterEach(async () => {
		await backend.close();
		await store.cleanup();
	});

	test('a room mapping set by link is stored, listed and unmapped by the room it names', async () => {
		const { mapping } = await ledger.setMapping({
			event: EVENT,
			room: 'https://matrix.to/#/%21hall%3Aexample.org?via=example.org',
		});
		expect(mapping.room).toBe('!hall:example.org');
		// The same room by ID is the same mapping, not a second one.
		expect((await ledger.setMapping({ event: EVENT, room: '!hall:example.org' })).created).toBe(false);
		expect((await ledger.listMappings({ room: 'matrix:roomid/hall:example.org' })).map((m) => m.room)).toEqual([
			'!hall:example.org',
		]);
		expect(await ledger.unsetMappings({ room: 'https://matrix.to/#/!hall:example.org/$event1' })).toBe(1);
	});

	test('invite codes store linked rooms as IDs and aliases, once each; a user link is refused without echoing it', async () => {
		const { info } = await createInviteCode(ledger, {
			event: EVENT,
			rooms: ['https://matrix.to/#/#lounge:example.org', 'matrix:r/lounge:example.org', '!hall:example.org'],
		});
		expect(info.rooms).toEqual(['#lounge:example.org', '!hall:example.org']);
		const refused = createInviteCode(ledger, { event: EVENT, rooms: ['https://matrix.to/#/@alice:example.org'] });
		await expect(refused).rejects.toThrow(LedgerInputError);
		await expect(refused).rejects.toThrow(/^Each room must be a room ID .* or a matrix\.to \/ matrix: link to one$/);
		await expect(refused).rejects.not.toThrow(/alice/);
	});
});
