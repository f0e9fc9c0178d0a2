import { FAKE_TEAM_TOKEN, FAKE_TEAM_TOKEN_SAMPLEEVENTS, startFakePretix, type FakePretix, type StartedFakePretix } from '../../fakes/pretix';
import { fetchTransport } from '../../../lib/http/fetch-transport';
import { parseEventUrl, PretixApiError, PretixClient, resolveEventUrl, resolveOrganizerUrl, EVENT_URL_SHAPE, ORGANIZER_URL_SHAPE } from '../../../lib/pretix';

describe('parseEventUrl', () => {
	const instance = 'https://pretix.eu';
	test.each([
		['https://pretix.eu/exampleorg/summit26/', { kind: 'slugs', organizer: 'exampleorg', event: 'summit26' }],
		['https://pretix.eu/exampleorg/summit26', { kind: 'slugs', organizer: 'exampleorg', event: 'summit26' }],
		['  pretix.eu/exampleorg/summit26/  ', { kind: 'slugs', organizer: 'exampleorg', event: 'summit26' }],
		['https://PRETIX.eu/exampleorg/summit26/order/ABC3K/secret/', { kind: 'slugs', organizer: 'exampleorg', event: 'summit26' }],
		['https://pretix.eu/exampleorg/meetups26/4711/', { kind: 'slugs', organizer: 'exampleorg', event: 'meetups26', subevent: 4711 }],
		['https://pretix.eu/control/event/exampleorg/summit26/orders/', { kind: 'slugs', organizer: 'exampleorg', event: 'summit26' }],
		['https://pretix.eu/api/v1/organizers/exampleorg/events/summit26/', { kind: 'slugs', organizer: 'exampleorg', event: 'summit26' }],
		['https://pretix.eu/exampleorg/summit26/?voucher=X#top', { kind: 'slugs', organizer: 'exampleorg', event: 'summit26' }],
	])('%s', (input, expected) => {
		expect(parseEventUrl(input, instance)).toEqual(expected);
	});

	test('self-hosted instance under a path prefix', () => {
		expect(parseEventUrl('https://example.org/tickets/org1/ev1/', 'https://example.org/tickets')).toEqual({ kind: 'slugs', organizer: 'org1', event: 'ev1' });
	});

	test('other hosts need a public_url lookup', () => {
		const r = parseEventUrl('https://tickets.example.net/conf26/', instance);
		expect(r.kind).toBe('lookup');
	});

	test.each([
		['', 'empty'],
		['not a url at all', 'not a valid URL'],
		['ftp://pretix.eu/a/b/', 'http(s)'],
		['https://pretix.eu/', 'start page'],
		['https://pretix.eu/exampleorg/', 'organizer page'],
		['https://pretix.eu/exampleorg/account/login', 'organizer page'],
		['https://pretix.eu/control/', 'not an event shop'],
		['https://pretix.eu/exa$mple/ev/', 'slugs'],
	])('rejects %j with a message naming the expected shape', (input, reason) => {
		let error: unknown;
		try {
			parseEventUrl(input, instance);
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(PretixApiError);
		expect((error as Error).message).toContain(reason);
		expect((error as Error).message).toContain(EVENT_URL_SHAPE);
	});
});

describe('resolveEventUrl against the fake pretix', () => {
	let fake: StartedFakePretix & FakePretix;
	beforeAll(async () => {
		fake = await startFakePretix();
	});
	afterAll(async () => {
		await fake.stop();
	});
	const client = (token = FAKE_TEAM_TOKEN) => new PretixClient({ transport: fetchTransport(() => `Token ${token}`), instanceUrl: fake.url, sleep: async () => {} });

	test('instance URLs resolve without a request', async () => {
		fake.resetRequests();
		expect(await resolveEventUrl(client(), `${fake.url}/exampleorg/summit26/`)).toEqual({ organizer: 'exampleorg', event: 'summit26' });
		expect(fake.requests).toHaveLength(0);
	});

	test('custom domains are matched against public_url', async () => {
		const c = client(FAKE_TEAM_TOKEN_SAMPLEEVENTS);
		expect(await resolveEventUrl(c, 'https://tickets.example.net/conf26/')).toEqual({ organizer: 'sampleevents', event: 'conf26' });
		expect(await resolveEventUrl(c, 'https://TICKETS.example.net/conf26/redeem?code=x')).toEqual({ organizer: 'sampleevents', event: 'conf26' });
		await expect(resolveEventUrl(c, 'https://tickets.example.net/')).rejects.toThrow(/organizer page/);
		await expect(resolveEventUrl(c, 'https://tickets.example.net/nope/')).rejects.toThrow(EVENT_URL_SHAPE);
	});

	test('an event domain (event public_url on its own host) is found on any organizer', async () => {
		fake.addEvent('exampleorg', { ...(fake.events.get('exampleorg')!.get('summit26') as object), slug: 'fest26', public_url: 'https://fest.example.org/' });
		expect(await resolveEventUrl(client(), 'https://fest.example.org/')).toEqual({ organizer: 'exampleorg', event: 'fest26' });
	});

	test('a URL the credential cannot see is a clear error', async () => {
		await expect(resolveEventUrl(client(), 'https://tickets.example.net/conf26/')).rejects.toThrow(/not the shop URL of an event this pretix credential can see/);
	});
});

describe('resolveOrganizerUrl against the fake pretix', () => {
	let fake: StartedFakePretix & FakePretix;
	beforeAll(async () => {
		fake = await startFakePretix();
	});
	afterAll(async () => {
		await fake.stop();
	});
	const client = (token = FAKE_TEAM_TOKEN, instanceUrl = fake.url) => new PretixClient({ transport: fetchTransport(() => `Token ${token}`), instanceUrl, sleep: async () => {} });

	test('instance URLs (organizer page, shop, control panel, API) resolve without a request', async () => {
		fake.resetRequests();
		for (const url of [`${fake.url}/exampleorg/`, `${fake.url}/exampleorg`, `${fake.url}/exampleorg/summit26/`, `${fake.url}/control/organizer/exampleorg/`, `${fake.url}/control/event/exampleorg/summit26/`, `${fake.url}/api/v1/organizers/exampleorg/`]) {
			expect({ url, slug: await resolveOrganizerUrl(client(), url) }).toEqual({ url, slug: 'exampleorg' });
		}
		expect(fake.requests).toHaveLength(0);
	});

	test('self-hosted under a path prefix', async () => {
		expect(await resolveOrganizerUrl(client(FAKE_TEAM_TOKEN, 'https://example.org/tickets'), 'https://example.org/tickets/org1/')).toBe('org1');
	});

	test('a custom domain is matched against the organizers\' public_url', async () => {
		expect(await resolveOrganizerUrl(client(FAKE_TEAM_TOKEN_SAMPLEEVENTS), 'https://tickets.example.net/')).toBe('sampleevents');
		expect(await resolveOrganizerUrl(client(FAKE_TEAM_TOKEN_SAMPLEEVENTS), 'https://TICKETS.example.net/conf26/')).toBe('sampleevents');
		// Not visible to this credential.
		await expect(resolveOrganizerUrl(client(), 'https://tickets.example.net/')).rejects.toThrow(/organizer this pretix credential can see/);
	});

	test.each([
		['', 'empty'],
		['ftp://x.example/a/', 'http(s)'],
		['FAKE/', 'start page'],
		['FAKE/control/', 'not an organizer'],
		['FAKE/exa$mple/', 'valid organizer slug'],
	])('rejects %j with a message naming the expected shape', async (input, reason) => {
		const error = await resolveOrganizerUrl(client(), input.replace('FAKE', fake.url)).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(PretixApiError);
		expect((error as Error).message).toContain(reason);
		expect((error as Error).message).toContain(ORGANIZER_URL_SHAPE);
	});
});
