/**
 * Demo services for `npm start -- --demo`: the fake pretix (fixture event `exampleorg/summit26`) and
 * a fake homeserver with a bot, an organizer and two rooms, so every template can run end to end on
 * one machine. Also used by the templates' e2e suite.
 */
import { FAKE_OAUTH_CLIENT, FAKE_TEAM_TOKEN, startFakePretix } from '../test/fakes/pretix';
import { startFakeHomeserver } from '../test/fakes/matrix';

const FIXTURE_USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'ivan', 'laura', 'mallory', 'niaj', 'peggy', 'sybil', 'newbie', '@grace:example.net', '@heidi:chat.example.org', '@bob:matrix.example.net'];

export type FakePretix = Awaited<ReturnType<typeof startFakePretix>>;
export type FakeHomeserver = Awaited<ReturnType<typeof startFakeHomeserver>>;

export interface DemoServices {
	pretix: FakePretix;
	homeserver: FakeHomeserver;
	pretixUrl: string;
	pretixToken: string;
	/** The fake pretix's OAuth application (client ID and secret for the pretix OAuth2 credential). */
	pretixOAuthClient: { clientId: string; clientSecret: string };
	/**
	 * Registers the OAuth callback of the n8n at `n8nBaseUrl` on the fake pretix's application, as an
	 * organizer registers n8n's "OAuth Redirect URL" in pretix; returns it. n8n sends exactly this
	 * (`<instance base URL>/rest/oauth2-credential/callback`), so "Connect" works in the demo.
	 */
	registerOAuthCallback(n8nBaseUrl: string): string;
	homeserverUrl: string;
	botToken: string;
	botUserId: string;
	organizer: { userId: string; accessToken: string };
	/** The room organizers type commands in (the bot is moderator there). */
	organizersRoom: string;
	/** The attendees' room (the bot may invite). */
	attendeesRoom: string;
	describe(): string[];
	stop(): Promise<void>;
}

export async function startDemoServices(options: { pretixPort?: number; homeserverPort?: number; rateLimits?: boolean; /** The homeserver's clock runs this many times faster (tests of long batches). */ homeserverTimeScale?: number } = {}): Promise<DemoServices> {
	// 'localhost': the demo's n8n runs on http loopback, whose OAuth callback a production pretix
	// (https only) would refuse; the test-only policy lets registerOAuthCallback register it.
	const pretix = await startFakePretix({ port: options.pretixPort, webhooks: { timeFactor: 60 }, allowHttpRedirectUris: 'localhost' });
	const homeserver = await startFakeHomeserver({ port: options.homeserverPort, serverName: 'example.org', ...(options.rateLimits === false ? { rateLimits: false } : {}), ...(options.homeserverTimeScale ? { timeScale: options.homeserverTimeScale } : {}) });
	const bot = homeserver.createUser('eventbot', { password: 'demo-bot-password' });
	const organizer = homeserver.createUser('organizer', { password: 'demo-organizer-password' });
	// The people of the fixture orders: local accounts, and remote ones on reachable servers.
	for (const user of FIXTURE_USERS) homeserver.createUser(user);
	const organizersRoom = homeserver.createRoom({ creator: organizer.userId, name: 'Organizers', members: [bot.userId], powerLevels: { users: { [organizer.userId]: 100, [bot.userId]: 50 } } });
	const attendeesRoom = homeserver.createRoom({ creator: organizer.userId, name: 'Summit 26 attendees', alias: '#summit26:example.org', preset: 'private_chat', members: [bot.userId], powerLevels: { users: { [organizer.userId]: 100, [bot.userId]: 50 }, invite: 50, kick: 50 } });
	return {
		pretix,
		homeserver,
		pretixUrl: pretix.url,
		pretixToken: FAKE_TEAM_TOKEN,
		pretixOAuthClient: { clientId: FAKE_OAUTH_CLIENT.clientId, clientSecret: FAKE_OAUTH_CLIENT.clientSecret },
		registerOAuthCallback: (n8nBaseUrl) => {
			const callback = `${n8nBaseUrl.replace(/\/+$/, '')}/rest/oauth2-credential/callback`;
			pretix.registerRedirectUri(callback);
			return callback;
		},
		homeserverUrl: homeserver.url,
		botToken: bot.accessToken,
		botUserId: bot.userId,
		organizer: { userId: organizer.userId, accessToken: organizer.accessToken },
		organizersRoom,
		attendeesRoom,
		describe: () => [
			`fake pretix on ${pretix.url} (event ${pretix.url}/exampleorg/summit26/, team token in the "pretix team token" credential)`,
			`fake homeserver on ${homeserver.url}: bot ${bot.userId}, organizer ${organizer.userId}`,
			`  organizers' room ${organizersRoom}, attendees' room ${attendeesRoom} (#summit26:example.org)`,
		],
		stop: async () => {
			await pretix.stop();
			await homeserver.stop();
		},
	};
}
