import { credentialTest, runListSearch, runWorkflow, wf } from '../harness/engine';
import { FAKE_OAUTH_CLIENT, FAKE_TEAM_TOKEN, FAKE_TEAM_TOKEN_NO_ORDERS, FAKE_TEAM_TOKEN_SAMPLEEVENTS, startFakePretix, type FakePretix, type StartedFakePretix } from '../fakes/pretix';
import type { IDataObject } from 'n8n-workflow';

let fake: StartedFakePretix & FakePretix;
beforeEach(async () => {
	fake = await startFakePretix();
});
afterEach(async () => {
	await fake.stop();
});

const teamCredentials = (token = FAKE_TEAM_TOKEN) => ({ pretixApi: { url: fake.url, apiToken: token } });

function ordersNode(parameters: IDataObject, auth: 'pretixApi' | 'pretixOAuth2Api' = 'pretixApi') {
	return wf([{ name: 'Orders', type: 'pretixOrders', parameters: { authentication: auth, ...parameters }, credentials: [auth] }]);
}

/** Static data comes back as n8n's observable proxy; persist it as n8n does, as plain JSON. */
const plain = (data: IDataObject): IDataObject => JSON.parse(JSON.stringify(data));

// Tickets with access: the paid positions and the workshop add-on 5009 (a room may be mapped to its product).
const PAID_POSITIONS = [5001, 5004, 5006, 5007, 5008, 5009, 5010, 5011, 5012, 5013, 5014, 5015, 5016, 5017, 5018];

describe('Pretix Orders: attendees', () => {
	test('attendee getMany by event URL: one item per active position, no personal data by default', async () => {
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'url', eventUrl: `${fake.url}/exampleorg/summit26/` }), credentials: teamCredentials() });
		expect(r.status).toBe('success');
		const out = r.output('Orders');
		expect(out.map((a) => a.positionId)).toEqual(PAID_POSITIONS);
		expect(out[0]).toEqual({ organizer: 'exampleorg', event: 'summit26', orderCode: 'ABC3K', orderStatus: 'p', positionId: 5001, positionNumber: 1, itemId: 201, variationId: null, subeventId: null, addonTo: null, matrixId: '@alice:example.org', lastModified: '2026-05-04T09:14:02.118204Z', access: 'granted', accessReason: 'paid' });
		expect(out.find((a) => a.positionId === 5016)!.matrixId).toBeNull();
		expect(r.items('Orders').every((item) => (item.pairedItem as { item: number }).item === 0)).toBe(true);
		expect(fake.requests.every((req) => req.auth === 'token')).toBe(true);
	});

	test('by slugs, with pending, name and e-mail, item filter on the add-on', async () => {
		const r = await runWorkflow({
			workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', attendeeOptions: { statuses: ['p', 'n'], includeName: true, includeEmail: true } }),
			credentials: teamCredentials(),
		});
		const bob = r.output('Orders').find((a) => a.orderCode === 'B7NQX')!;
		expect(bob).toMatchObject({ orderStatus: 'n', attendeeName: 'Bob Sample', attendeeEmail: 'bob@example.org' });
		const addon = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', attendeeOptions: { itemIds: '203' } }), credentials: teamCredentials() });
		expect(addon.output('Orders')).toEqual([expect.objectContaining({ positionId: 5009, addonTo: 5006, matrixId: '@frank:example.org' })]);
	});

	test('custom question identifier, matched case-insensitively', async () => {
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', attendeeOptions: { questionIdentifier: 'TSHIRT' } }), credentials: teamCredentials() });
		expect(r.output('Orders').find((a) => a.positionId === 5004)!.matrixId).toBe('L');
	});

	test('limit', async () => {
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', returnAll: false, limit: 3 }), credentials: teamCredentials() });
		expect(r.output('Orders')).toHaveLength(3);
	});

	test('custom-domain event URL resolves through public_url', async () => {
		fake.generateOrders({ count: 3, seed: 2, organizer: 'sampleevents', event: 'conf26' });
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'url', eventUrl: 'https://tickets.example.net/conf26/' }), credentials: teamCredentials(FAKE_TEAM_TOKEN_SAMPLEEVENTS) });
		expect(r.status).toBe('success');
		expect(r.output('Orders').map((a) => a.event)).toEqual(['conf26', 'conf26', 'conf26']);
	});

	test('incremental: cursor per event in static data; a re-run with nothing new costs one request', async () => {
		const workflow = ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'url', eventUrl: `${fake.url}/exampleorg/summit26/`, incremental: true });
		const first = await runWorkflow({ workflow, credentials: teamCredentials() });
		expect(first.output('Orders')).toHaveLength(15);
		fake.resetRequests();
		const second = await runWorkflow({ workflow, credentials: teamCredentials(), staticData: plain(first.staticData) });
		expect(second.status).toBe('success');
		expect(second.output('Orders')).toEqual([]);
		expect(fake.requestCount()).toBe(1);
		expect(fake.requests[0].query.modified_since).toBeDefined();
		fake.setAnswer('F7KMA', 5010, '@ivan:example.org');
		const third = await runWorkflow({ workflow, credentials: teamCredentials(), staticData: plain(second.staticData) });
		expect(third.output('Orders').map((a) => [a.orderCode, a.matrixId])).toEqual([['F7KMA', '@ivan:example.org']]);
	});

	test('a 429 storm and a 409 are ridden out', async () => {
		fake.storm429(2, 1);
		fake.injectFaults({ status: 409, retryAfter: 1 });
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26' }), credentials: teamCredentials() });
		expect(r.status).toBe('success');
		expect(r.output('Orders')).toHaveLength(15);
		expect(fake.requests.map((q) => q.status)).toEqual([429, 429, 409, 200]);
	}, 15000);
});

describe('Pretix Orders: other resources', () => {
	test('event get (URL with a sub-event id), event getMany, organizer getMany', async () => {
		const get = await runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'get', eventBy: 'url', eventUrl: `${fake.url}/exampleorg/meetups26/42/` }), credentials: teamCredentials() });
		expect(get.output('Orders')).toEqual([expect.objectContaining({ organizer: 'exampleorg', slug: 'meetups26', has_subevents: true, subevent: 42 })]);
		const many = await runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'getMany', organizer: 'exampleorg' }), credentials: teamCredentials() });
		expect(many.output('Orders').map((e) => e.slug)).toEqual(['meetups26', 'summit26']);
		const orgs = await runWorkflow({ workflow: ordersNode({ resource: 'organizer', operation: 'getMany' }), credentials: teamCredentials() });
		expect(orgs.output('Orders')).toEqual([{ name: 'Example Org e.V.', slug: 'exampleorg', public_url: `${fake.url}/exampleorg/` }]);
	});

	test('order get: attendees of one order; canceled order → no items; unknown code → error without the code', async () => {
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'order', operation: 'get', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', code: 'e3pzv' }), credentials: teamCredentials() });
		expect(r.output('Orders').map((a) => a.positionId)).toEqual([5006, 5007, 5008, 5009]);
		const canceled = await runWorkflow({ workflow: ordersNode({ resource: 'order', operation: 'get', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', code: 'C8RTW' }), credentials: teamCredentials() });
		expect(canceled.status).toBe('success');
		expect(canceled.output('Orders')).toEqual([]);
		const missing = await runWorkflow({ workflow: ordersNode({ resource: 'order', operation: 'get', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', code: 'ZZZZZ' }), credentials: teamCredentials() });
		expect(missing.status).toBe('error');
		expect(missing.error!.message).toMatch(/not found/);
		expect(missing.error!.message).not.toContain('ZZZZZ');
	});
});

describe('Pretix Orders: errors', () => {
	test('wrong token → actionable 401 error that does not contain the token', async () => {
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'organizer', operation: 'getMany' }), credentials: teamCredentials('definitely-wrong-token') });
		expect(r.status).toBe('error');
		expect(r.error!.message).toMatch(/did not accept the credential/);
		expect(r.error!.description).toMatch(/Reconnect/);
		expect(JSON.stringify(r.error)).not.toContain('definitely-wrong-token');
	});

	test('no order permission → 403 naming organizer and event', async () => {
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26' }), credentials: teamCredentials(FAKE_TEAM_TOKEN_NO_ORDERS) });
		expect(r.error!.message).toContain('cannot read organizer "exampleorg", event "summit26"');
		expect(r.error!.httpCode).toBe('403');
	});

	test('not an event URL → a clear error naming the expected shape; continueOnFail keeps going per item', async () => {
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'url', eventUrl: `${fake.url}/exampleorg/` }), credentials: teamCredentials() });
		expect(r.status).toBe('error');
		expect(r.error!.message).toContain('https://pretix.eu/<organizer>/<event>/');
		const workflow = wf([{ name: 'Orders', type: 'pretixOrders', parameters: { authentication: 'pretixApi', resource: 'attendee', operation: 'getMany', eventBy: 'url', eventUrl: '={{ $json.url }}' }, credentials: ['pretixApi'], continueOnFail: true }]);
		const c = await runWorkflow({ workflow, credentials: teamCredentials(), input: [{ url: 'nonsense' }, { url: `${fake.url}/exampleorg/summit26/` }] });
		expect(c.status).toBe('success');
		const out = c.items('Orders');
		expect(out[0].json.error).toMatch(/not a valid URL|Expected an event shop URL/);
		expect(out[0].pairedItem).toEqual({ item: 0 });
		expect(out.slice(1)).toHaveLength(15);
		expect(out.slice(1).every((i) => (i.pairedItem as { item: number }).item === 1)).toBe(true);
	});

	test('pretix answering 5xx / garbage persistently → a clear node error', async () => {
		fake.injectFaults({ kind: 'garbage', times: 50 });
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'organizer', operation: 'getMany' }), credentials: teamCredentials() });
		expect(r.status).toBe('error');
		expect(r.error!.message).toMatch(/not JSON/);
	}, 30000);

	test('bad option values are configuration errors', async () => {
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', attendeeOptions: { itemIds: '201, abc' } }), credentials: teamCredentials() });
		expect(r.error!.message).toMatch(/Item IDs must be/);
		const statuses = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', attendeeOptions: { statuses: [] } }), credentials: teamCredentials() });
		expect(statuses.error!.message).toMatch(/at least one order status/);
	});
});

describe('Pretix Orders: OAuth2', () => {
	function oauthCredentials(token: { access_token: string; refresh_token: string }) {
		return {
			pretixOAuth2Api: {
				url: fake.url,
				clientId: FAKE_OAUTH_CLIENT.clientId,
				clientSecret: FAKE_OAUTH_CLIENT.clientSecret,
				oauthTokenData: { access_token: token.access_token, refresh_token: token.refresh_token, token_type: 'Bearer', expires_in: 86400, scope: 'read' },
			},
		};
	}

	test('Bearer token works', async () => {
		const token = fake.issueOAuthToken();
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26' }, 'pretixOAuth2Api'), credentials: oauthCredentials(token) });
		expect(r.status).toBe('success');
		expect(r.output('Orders')).toHaveLength(15);
		expect(fake.requests.every((q) => q.auth === 'bearer')).toBe(true);
		expect(r.credentialUpdates).toEqual([]);
	});

	test('expired access token → n8n refreshes with Basic client auth, keeps the same refresh token, retries', async () => {
		const token = fake.issueOAuthToken();
		fake.expireAccessToken(token.access_token);
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26' }, 'pretixOAuth2Api'), credentials: oauthCredentials(token) });
		expect(r.status).toBe('success');
		expect(r.output('Orders')).toHaveLength(15);
		const refresh = fake.requests.find((q) => q.path === '/api/v1/oauth/token')!;
		expect(refresh.auth).toBe('basic');
		expect(r.credentialUpdates).toHaveLength(1);
		const updated = r.credentialUpdates[0].data as IDataObject;
		expect(updated.refresh_token).toBe(token.refresh_token);
		expect(updated.access_token).not.toBe(token.access_token);
		expect(fake.accessTokens.has(updated.access_token as string)).toBe(true);
	});

	test('OAuth Token → Revoke: pretix revokes both tokens (client Basic auth), the next call is refused; the team token mode explains itself', async () => {
		const token = fake.issueOAuthToken();
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'oauthToken', operation: 'revoke' }, 'pretixOAuth2Api'), credentials: oauthCredentials(token), input: [{}, {}] });
		expect(r.status).toBe('success');
		expect(r.output('Orders')).toEqual([{ revoked: ['access_token', 'refresh_token'] }]);
		const revokes = fake.requests.filter((q) => q.path === '/api/v1/oauth/revoke_token');
		expect(revokes.map((q) => [q.method, q.auth, q.status])).toEqual([
			['POST', 'basic', 200],
			['POST', 'basic', 200],
		]);
		expect(fake.accessTokens.has(token.access_token)).toBe(false);
		expect(fake.refreshTokens.get(token.refresh_token)?.revoked ?? true).toBe(true);
		const after = await runWorkflow({ workflow: ordersNode({ resource: 'organizer', operation: 'getMany' }, 'pretixOAuth2Api'), credentials: oauthCredentials(token) });
		expect(after.status).toBe('error');
		const team = await runWorkflow({ workflow: ordersNode({ resource: 'oauthToken', operation: 'revoke' }), credentials: teamCredentials() });
		expect(team.status).toBe('error');
		expect(team.error!.message).toMatch(/Only an OAuth2 connection can be revoked/);
		expect(JSON.stringify(r.run.data.resultData.runData)).not.toContain(token.refresh_token);
	});

	test('Event → Get: when an event, a series and one of its dates end (for the purge)', async () => {
		const plain = await runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'get', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26' }), credentials: teamCredentials() });
		const summit = plain.output('Orders')[0];
		expect(summit.endsAt).toBe(summit.date_to ?? summit.date_from);
		const series = await runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'get', eventBy: 'slugs', organizer: 'exampleorg', event: 'meetups26' }), credentials: teamCredentials() });
		const dates = fake.subEventsOf('exampleorg', 'meetups26').map((d) => d.date_to ?? d.date_from);
		const last = dates.reduce((a, b) => (Date.parse(a) > Date.parse(b) ? a : b));
		expect(series.output('Orders')[0]).toMatchObject({ has_subevents: true, date_to: null, endsAt: last });
		const first = fake.subEventsOf('exampleorg', 'meetups26')[0];
		const date = await runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'get', eventBy: 'url', eventUrl: `${fake.url}/exampleorg/meetups26/${first.id}/` }), credentials: teamCredentials() });
		expect(date.output('Orders')[0]).toMatchObject({ subevent: first.id, endsAt: first.date_to ?? first.date_from });
	});

	test('revoked refresh token → actionable reconnect error', async () => {
		const token = fake.issueOAuthToken();
		fake.refreshTokens.get(token.refresh_token)!.revoked = true;
		fake.expireAccessToken(token.access_token);
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'organizer', operation: 'getMany' }, 'pretixOAuth2Api'), credentials: oauthCredentials(token) });
		expect(r.status).toBe('error');
		expect(r.error!.message).toMatch(/did not accept the credential/);
		expect(r.error!.description).toMatch(/Reconnect/);
		expect(JSON.stringify(r.error)).not.toContain(token.refresh_token);
		expect(JSON.stringify(r.error)).not.toContain(token.access_token);
	});

	test('token not granted for the organizer → 403', async () => {
		const token = fake.issueOAuthToken({ organizers: ['sampleevents'] });
		const r = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26' }, 'pretixOAuth2Api'), credentials: oauthCredentials(token) });
		expect(r.error!.message).toContain('cannot read organizer "exampleorg"');
	});
});

describe('credential tests', () => {
	test('pretixApi: team token tested against the organizer list', async () => {
		expect((await credentialTest('pretixApi', { url: `${fake.url}/`, apiToken: FAKE_TEAM_TOKEN })).status).toBe('OK');
		expect((await credentialTest('pretixApi', { url: fake.url, apiToken: 'nope' })).status).toBe('Error');
		expect(fake.requests.some((q) => q.path === '/api/v1/organizers/' && q.auth === 'token' && q.status === 200)).toBe(true);
	});

	test('pretixOAuth2Api: tested against /api/v1/me with the Bearer token', async () => {
		const token = fake.issueOAuthToken({ scope: 'read' });
		const ok = await credentialTest('pretixOAuth2Api', { url: fake.url, clientId: FAKE_OAUTH_CLIENT.clientId, clientSecret: FAKE_OAUTH_CLIENT.clientSecret, oauthTokenData: { access_token: token.access_token, refresh_token: token.refresh_token } });
		expect(ok.status).toBe('OK');
		expect(fake.requests.some((q) => q.path === '/api/v1/me' && q.auth === 'bearer' && q.status === 200)).toBe(true);
	});
});

describe('Pretix Orders: organizer and event as resource locators', () => {
	const rl = (mode: string, value: string) => ({ __rl: true, mode, value });
	const search = (method: string, parameters: IDataObject, filter?: string, token = FAKE_TEAM_TOKEN) =>
		runListSearch({
			node: { name: 'Orders', type: 'pretixOrders', parameters: { authentication: 'pretixApi', resource: 'attendee', operation: 'getMany', eventBy: 'slugs', ...parameters }, credentials: ['pretixApi'] },
			method,
			parameter: method === 'searchEvents' ? 'event' : 'organizer',
			filter,
			credentials: teamCredentials(token),
		});

	test('organizer list: names with slugs and their pages; the filter matches name or slug', async () => {
		// A team token sees its own organizer only (as in pretix).
		expect((await search('searchOrganizers', {})).results).toEqual([{ name: 'Example Org e.V. (exampleorg)', value: 'exampleorg', url: `${fake.url}/exampleorg/` }]);
		expect((await search('searchOrganizers', {}, undefined, FAKE_TEAM_TOKEN_SAMPLEEVENTS)).results).toEqual([{ name: 'Sample Events GmbH (sampleevents)', value: 'sampleevents', url: 'https://tickets.example.net/' }]);
		expect((await search('searchOrganizers', {}, 'E.V.')).results.map((r) => r.value)).toEqual(['exampleorg']);
		expect((await search('searchOrganizers', {}, 'EXAMPLEORG')).results.map((r) => r.value)).toEqual(['exampleorg']);
		expect((await search('searchOrganizers', {}, 'nothing-like-this')).results).toEqual([]);
	});

	test('event list of the chosen organizer, whichever way the organizer was given', async () => {
		for (const organizer of [rl('list', 'exampleorg'), rl('id', 'exampleorg'), rl('url', `${fake.url}/exampleorg/`), 'exampleorg']) {
			const events = await search('searchEvents', { organizer, event: rl('list', '') });
			expect(events.results.map((r) => r.value).sort()).toEqual(['meetups26', 'summit26']);
			for (const event of events.results) expect(event.name).toContain(`(${event.value})`);
		}
		const summit = await search('searchEvents', { organizer: rl('list', 'exampleorg') }, 'SUMMIT');
		expect(summit.results).toEqual([expect.objectContaining({ value: 'summit26', url: `${fake.url}/exampleorg/summit26/` })]);
		// The custom domain of an organizer is resolved through its public_url.
		const custom = await search('searchEvents', { organizer: rl('url', 'https://tickets.example.net/') }, undefined, FAKE_TEAM_TOKEN_SAMPLEEVENTS);
		expect(custom.results.map((r) => r.value)).toContain('conf26');
	});

	test('event list without an organizer, or without permission: a clear error, no secrets', async () => {
		await expect(search('searchEvents', { organizer: rl('list', '') })).rejects.toThrow(/organizer slug is missing/);
		const denied = search('searchOrganizers', {}, undefined, 'wrong-token-value');
		await expect(denied).rejects.toThrow(/did not accept the credential \(401\)/);
		const error = (await denied.catch((e: unknown) => e)) as Error & { description?: string };
		expect(JSON.stringify({ message: error.message, description: error.description })).not.toContain('wrong-token-value');
	});

	test('runs with locator values: list, id, URL (custom domain too) and legacy strings', async () => {
		const bySlugs = await runWorkflow({ workflow: ordersNode({ resource: 'attendee', operation: 'getMany', eventBy: 'slugs', organizer: rl('list', 'exampleorg'), event: rl('id', ' summit26 ') }), credentials: teamCredentials() });
		expect(bySlugs.output('Orders').map((a) => a.positionId)).toEqual(PAID_POSITIONS);
		const byEventUrl = await runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'get', eventBy: 'slugs', organizer: rl('list', ''), event: rl('url', 'https://tickets.example.net/conf26/') }), credentials: teamCredentials(FAKE_TEAM_TOKEN_SAMPLEEVENTS) });
		expect(byEventUrl.status).toBe('success');
		expect(byEventUrl.output('Orders')).toEqual([expect.objectContaining({ organizer: 'sampleevents', slug: 'conf26' })]);
		const byOrganizerUrl = await runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'getMany', organizer: rl('url', `${fake.url}/exampleorg/summit26/`) }), credentials: teamCredentials() });
		expect(byOrganizerUrl.output('Orders').map((e) => [e.organizer, e.slug]).sort()).toEqual([['exampleorg', 'meetups26'], ['exampleorg', 'summit26']]);
		const legacy = await runWorkflow({ workflow: ordersNode({ resource: 'order', operation: 'get', eventBy: 'slugs', organizer: 'exampleorg', event: 'summit26', code: 'ABC3K' }), credentials: teamCredentials() });
		expect(legacy.output('Orders').map((a) => a.positionId)).toEqual([5001]);
		const expression = await runWorkflow({ workflow: ordersNode({ resource: 'order', operation: 'get', eventBy: 'slugs', organizer: rl('id', '={{ $json.org }}'), event: rl('id', '={{ $json.ev }}'), code: '={{ $json.code }}' }), credentials: teamCredentials(), input: [{ org: 'exampleorg', ev: 'summit26', code: 'E3PZV' }] });
		expect(expression.output('Orders').map((a) => a.positionId)).toEqual([5006, 5007, 5008, 5009]);
	});

	test('bad locator values are configuration errors naming the expected shape', async () => {
		// A literal that fails the mode's validation is a workflow issue in n8n (shown in the editor, run refused).
		await expect(runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'getMany', organizer: rl('id', 'no/slug') }), credentials: teamCredentials() })).rejects.toThrow(/Not a pretix slug/);
		// From an expression the value is only known at run time: a node error.
		const badSlug = await runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'getMany', organizer: rl('id', '={{ "no/" + "slug" }}') }), credentials: teamCredentials() });
		expect(badSlug.status).toBe('error');
		expect(badSlug.error).toMatchObject({ name: 'NodeOperationError' });
		expect(badSlug.error!.message).toMatch(/organizer slug is missing or not a valid/);
		const foreign = await runWorkflow({ workflow: ordersNode({ resource: 'event', operation: 'getMany', organizer: rl('url', 'https://elsewhere.example.org/x/') }), credentials: teamCredentials() });
		expect(foreign.error!.message).toMatch(/organizer page URL such as/);
		expect(fake.requestCount({ path: '/events/' })).toBe(0);
	});
});
