/**
 * A real matrix-js-sdk client with Rust crypto, as an organizer's Element would be: for tests of
 * encrypted rooms against the fake homeserver (its own in-memory IndexedDB databases, a prefix per
 * client). Needs NODE_OPTIONS=--experimental-vm-modules under jest (the SDK is ESM-only).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Sdk from 'matrix-js-sdk';

import { processIndexedDb } from '../../../lib/matrix/crypto-store';

import { quietLogger as quiet } from '../../../lib/matrix/listener';

let counter = 0;

/**
 * matrix-js-sdk refuses a second copy of itself in one JavaScript realm ("Multiple matrix-js-sdk
 * entrypoints detected!"): a test that runs the packed package (test/harness/engine.ts) must use the
 * copy installed with it. `from` is the folder whose node_modules holds that copy.
 */
function loadSdk(from?: string): typeof Sdk {
	const load = from ? createRequire(join(from, 'package.json')) : require;
	// Its module-level loggers (room echoes, RTC sessions) ignore the client's logger: silence them
	// as lib/matrix/listener.ts silenceSdkLogging does, or test output fills with room IDs.
	const root = (load('matrix-js-sdk/lib/logger.js') as { logger: { methodFactory: unknown; rebuild?: () => void } }).logger;
	root.methodFactory = () => () => undefined;
	root.rebuild?.();
	return load('matrix-js-sdk') as typeof Sdk;
}

export interface CryptoClient {
	client: Sdk.MatrixClient;
	userId: string;
	deviceId: string;
	/** Decrypted (or plain) messages of others, as they arrive. */
	received: Array<{ roomId: string; sender: string; type: string; content: Record<string, unknown>; encrypted: boolean; failed: boolean }>;
	/** Sends an encrypted text message; resolves with its event ID. */
	say(roomId: string, body: string): Promise<string>;
	stop(): Promise<void>;
}

export async function startCryptoClient(
	baseUrl: string,
	user: { userId: string; accessToken: string; deviceId: string },
	options: { sdkFrom?: string } = {},
): Promise<CryptoClient> {
	const sdk = loadSdk(options.sdkFrom);
	processIndexedDb();
	const controller = new AbortController();
	const fetchFn: typeof fetch = (input, init) =>
		fetch(input, {
			...init,
			signal: init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal,
		});
	const client = sdk.createClient({
		baseUrl,
		accessToken: user.accessToken,
		userId: user.userId,
		deviceId: user.deviceId,
		fetchFn,
		logger: quiet as never,
	});
	// As in lib/matrix/listener.ts ownRequestTimeouts: the SDK arms a local-timeout timer per request
	// and never clears it (it would keep jest alive for up to 110 s after stop()); run it ourselves.
	const http = client.http as unknown as { requestOtherUrl: (m: unknown, u: unknown, b: unknown, o?: { localTimeoutMs?: number; abortSignal?: AbortSignal }) => Promise<unknown> };
	const original = http.requestOtherUrl.bind(http);
	http.requestOtherUrl = async (method, url, body, opts = {}) => {
		const timeout = new AbortController();
		const timer = opts.localTimeoutMs ? setTimeout(() => timeout.abort(), opts.localTimeoutMs) : undefined;
		try {
			return await original(method, url, body, {
				...opts,
				localTimeoutMs: undefined,
				abortSignal: AbortSignal.any([timeout.signal, controller.signal, ...(opts.abortSignal ? [opts.abortSignal] : [])]),
			});
		} finally {
			clearTimeout(timer);
		}
	};
	await client.initRustCrypto({ useIndexedDB: true, cryptoDatabasePrefix: `test-organizer-${++counter}-${Date.now()}` });
	const received: CryptoClient['received'] = [];
	const record = (event: Sdk.MatrixEvent) => {
		if (event.getSender() === user.userId || event.getType() !== 'm.room.message' && !event.isDecryptionFailure()) return;
		received.push({
			roomId: event.getRoomId() ?? '',
			sender: event.getSender() ?? '',
			type: event.getType(),
			content: event.getContent(),
			encrypted: event.isEncrypted(),
			failed: event.isDecryptionFailure(),
		});
	};
	client.on(sdk.RoomEvent.Timeline, (event, _room, toStart) => {
		if (toStart) return;
		if (event.isEncrypted() && (event.isBeingDecrypted() || event.shouldAttemptDecryption())) {
			void client.decryptEventIfNeeded(event).then(() => {
				if (event.isDecryptionFailure())
					event.once(sdk.MatrixEventEvent.Decrypted, (again) => {
						if (!again.isDecryptionFailure()) record(again);
					});
				else record(event);
			});
		} else if (event.isEncrypted() && event.isDecryptionFailure()) {
			event.once(sdk.MatrixEventEvent.Decrypted, (again) => {
				if (!again.isDecryptionFailure()) record(again);
			});
		} else record(event);
	});
	const prepared = new Promise<void>((resolve) => {
		const onSync = (state: string) => {
			if (state === 'PREPARED') {
				client.off(sdk.ClientEvent.Sync, onSync);
				resolve();
			}
		};
		client.on(sdk.ClientEvent.Sync, onSync);
	});
	await client.startClient({ initialSyncLimit: 10, pollTimeout: 5_000 });
	await prepared;
	return {
		client,
		userId: user.userId,
		deviceId: user.deviceId,
		received,
		async say(roomId, body) {
			const sent = await client.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body } as never);
			return sent.event_id;
		},
		async stop() {
			client.stopClient();
			client.removeAllListeners();
			controller.abort();
		},
	};
}
