/**
 * A gate that holds every process's first claim until all of them have sent it, then lets them go
 * together — so the cross-process test knows the claims raced, without reading a clock.
 *
 * - PostgreSQL and Redis: each process talks to the server through its own TCP relay in the test
 *   process. While the gate is shut, the relay keeps what the process sends; `allHeld()` is true
 *   once every relay holds bytes, i.e. every process has a request on the wire that the server has
 *   not seen. `open()` forwards them all in the same tick.
 * - Embedded SQLite: the test holds the database file's write lock (`BEGIN IMMEDIATE`); a claim is
 *   one `BEGIN IMMEDIATE` transaction too (lib/store/sqlite.ts), so none can finish before `open()`
 *   commits. Every process announces `claiming` right before its first claim, so each claim began
 *   before the gate opened and ended after: all of them were under way at that moment.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

import type { BackendSpec } from './backends';

export interface ClaimGate {
	/** The store as process `index` must open it (through its relay, for network backends). */
	specFor(index: number): BackendSpec;
	shut(): void;
	/** True once every process's first request is held (network backends; SQLite: always true). */
	allHeld(): boolean;
	open(): void;
	close(): Promise<void>;
}

class Relay {
	private readonly server: Server;
	private readonly sockets = new Set<Socket>();
	private readonly heldChunks: Array<{ to: Socket; chunk: Buffer }> = [];
	private gated = false;
	port = 0;

	constructor(
		private readonly host: string,
		private readonly upstreamPort: number,
	) {
		this.server = createServer((client) => this.relay(client));
	}

	async listen(): Promise<void> {
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		const address = this.server.address();
		this.port = typeof address === 'object' && address ? address.port : 0;
	}

	get holding(): boolean {
		return this.heldChunks.length > 0;
	}

	shut(): void {
		this.gated = true;
	}

	open(): void {
		this.gated = false;
		for (const { to, chunk } of this.heldChunks.splice(0)) to.write(chunk);
	}

	private relay(client: Socket): void {
		const upstream = createConnection({ host: this.host, port: this.upstreamPort });
		for (const socket of [client, upstream]) {
			this.sockets.add(socket);
			socket.on('close', () => this.sockets.delete(socket));
			socket.on('error', () => undefined); // the other side's close ends both
		}
		client.on('data', (chunk: Buffer) => {
			if (this.gated) this.heldChunks.push({ to: upstream, chunk });
			else upstream.write(chunk);
		});
		upstream.on('data', (chunk: Buffer) => client.write(chunk));
		client.on('close', () => upstream.destroy());
		upstream.on('close', () => client.destroy());
	}

	async close(): Promise<void> {
		for (const socket of this.sockets) socket.destroy();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}
}

function through(url: string, port: number): string {
	const relayed = new URL(url);
	relayed.hostname = '127.0.0.1';
	relayed.port = String(port);
	return relayed.toString();
}

export async function openClaimGate(spec: BackendSpec, processes: number): Promise<ClaimGate> {
	if (spec.kind === 'embedded') {
		const { DatabaseSync } = await import('node:sqlite');
		const db = new DatabaseSync(spec.path);
		let locked = false;
		return {
			specFor: () => spec,
			shut() {
				db.exec('BEGIN IMMEDIATE');
				locked = true;
			},
			allHeld: () => true,
			open() {
				if (locked) db.exec('COMMIT');
				locked = false;
			},
			async close() {
				if (locked) db.exec('ROLLBACK');
				db.close();
			},
		};
	}
	const upstream = new URL(spec.kind === 'postgres' ? spec.connectionString : spec.url);
	const relays = await Promise.all(
		Array.from({ length: processes }, async () => {
			const port = Number(upstream.port) || (spec.kind === 'postgres' ? 5432 : 6379);
			const relay = new Relay(upstream.hostname, port);
			await relay.listen();
			return relay;
		}),
	);
	return {
		specFor(index) {
			const port = relays[index].port;
			return spec.kind === 'postgres'
				? { ...spec, connectionString: through(spec.connectionString, port) }
				: { ...spec, url: through(spec.url, port) };
		},
		shut: () => relays.forEach((r) => r.shut()),
		allHeld: () => relays.every((r) => r.holding),
		open: () => relays.forEach((r) => r.open()),
		close: async () => void (await Promise.all(relays.map((r) => r.close()))),
	};
}
