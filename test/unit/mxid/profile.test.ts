/**
 * The MXID Validate existence check (nodes/MxidValidate/profile.ts) against the fake homeserver,
 * over a fetch transport: every answer the Synapse notes list maps to the right verdict.
 */
import { fetchTransport } from '../../../lib/http/fetch-transport';
import {
	homeserverBase,
	lookUpProfile,
	ProfileAuthError,
} from '../../../nodes/MxidValidate/profile';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

describe('profile look-up', () => {
	let homeserver: FakeHomeserver;
	let token: string;
	const transport = () => fetchTransport(() => `Bearer ${token}`);

	beforeEach(async () => {
		homeserver = await startFakeHomeserver({ serverName: 'example.org', rateLimits: false });
		token = homeserver.createUser('bot').accessToken;
		homeserver.createUser('alice');
		homeserver.createUser('@grace:example.net');
		homeserver.setRemoteServer('down.example.net', 'unreachable');
	});
	afterEach(() => homeserver.stop());

	test.each([
		['@alice:example.org', 'exists'],
		['@grace:example.net', 'exists'],
		['@nobody:example.org', 'notFound'],
		['@dave:down.example.net', 'unreachable'],
	])('%s → %s', async (userId, verdict) => {
		await expect(lookUpProfile(transport(), homeserver.url, userId)).resolves.toBe(verdict);
	});

	test('the user ID is percent-encoded in the path', async () => {
		await lookUpProfile(transport(), homeserver.url, '@a/b+c:example.org');
		expect(homeserver.requests().at(-1)?.path).toBe(
			'/_matrix/client/v3/profile/%40a%2Fb%2Bc%3Aexample.org',
		);
	});

	test('a rejected token is an error, not a verdict about the user', async () => {
		token = 'wrong';
		await expect(
			lookUpProfile(transport(), homeserver.url, '@alice:example.org'),
		).rejects.toBeInstanceOf(ProfileAuthError);
	});

	test('403 (profile look-ups restricted) is unknown, never notFound', async () => {
		homeserver.failNext(1, {
			status: 403,
			path: /\/profile\//,
			body: { errcode: 'M_FORBIDDEN', error: 'You are not allowed' },
		});
		await expect(lookUpProfile(transport(), homeserver.url, '@alice:example.org')).resolves.toBe(
			'unknown',
		);
	});

	test('429 is retried after the requested wait', async () => {
		homeserver.failNext(1, {
			status: 429,
			path: /\/profile\//,
			body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 50 },
		});
		await expect(lookUpProfile(transport(), homeserver.url, '@alice:example.org')).resolves.toBe(
			'exists',
		);
		expect(homeserver.countRequests({ path: /\/profile\// })).toBe(2);
	});

	test('our homeserver refusing connections is unreachable', async () => {
		await homeserver.setDown('refuse');
		await expect(lookUpProfile(transport(), homeserver.url, '@alice:example.org')).resolves.toBe(
			'unreachable',
		);
	});

	test('homeserverBase accepts http(s) URLs only and drops trailing slashes', () => {
		expect(homeserverBase('https://matrix.example.org/')).toBe('https://matrix.example.org');
		expect(homeserverBase(' http://127.0.0.1:8008 ')).toBe('http://127.0.0.1:8008');
		expect(homeserverBase('matrix.example.org')).toBeUndefined();
		expect(homeserverBase('ftp://x')).toBeUndefined();
		expect(homeserverBase(undefined)).toBeUndefined();
	});
});
