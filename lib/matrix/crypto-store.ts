import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';

import { n8nFolder } from '../store/config';

/**
 * The bot device's crypto store on disk. matrix-js-sdk's Rust crypto keeps its Olm account,
 * sessions and room keys in IndexedDB, which Node does not have: we give it fake-indexeddb (a
 * complete in-memory IndexedDB in plain JS) and keep a file snapshot of the databases of one bot
 * device, written after every change that matters (see crypto.ts) and read back before the
 * crypto starts. The device must keep its keys across restarts: a fresh Olm account for a device
 * the homeserver already knows means other identity keys under the same device ID: Synapse lets
 * them replace the published ones (element-hq/synapse#18511 proposes refusing it), but clients do
 * not accept a known device's new Ed25519 key (matrix-rust-sdk ignores it), so nobody could share
 * room keys with the bot any more.
 *
 * The file lives in n8n's folder (`<N8N_USER_FOLDER or home>/.n8n/pretix-matrix-crypto/`), one per
 * homeserver + user + device, mode 0600 in a 0700 folder; its name is a hash, so it names no
 * Matrix ID. With a store passphrase (credential field) the whole file is AES-256-GCM ciphertext
 * under a key derived from it with scrypt (the Rust store's own cipher leaves some names in clear,
 * e.g. the user IDs of its tracked_users store, so we do not rely on it).
 */

/** The passphrase's key for one file: derived once per session (scrypt is slow on purpose). */
export interface FileKey {
	salt: Buffer;
	key: Buffer;
}

const SEALED = Buffer.from('PMCS1\n');

export function fileKey(passphrase: string, salt: Buffer = randomBytes(16)): FileKey {
	return { salt, key: scryptSync(passphrase, salt, 32, { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }) };
}

function seal(plain: Buffer, key: FileKey): Buffer {
	const iv = randomBytes(12);
	const cipher = createCipheriv('aes-256-gcm', key.key, iv);
	const body = Buffer.concat([cipher.update(plain), cipher.final()]);
	return Buffer.concat([SEALED, key.salt, iv, cipher.getAuthTag(), body]);
}

/** The salt of a sealed file (to derive its key), or undefined for a plain one. */
function saltOf(bytes: Buffer): Buffer | undefined {
	return bytes.subarray(0, SEALED.length).equals(SEALED) ? bytes.subarray(SEALED.length, SEALED.length + 16) : undefined;
}

function unseal(bytes: Buffer, key: FileKey): Buffer {
	const at = SEALED.length + 16;
	const decipher = createDecipheriv('aes-256-gcm', key.key, bytes.subarray(at, at + 12));
	decipher.setAuthTag(bytes.subarray(at + 12, at + 28));
	try {
		return Buffer.concat([decipher.update(bytes.subarray(at + 28)), decipher.final()]);
	} catch {
		// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: the trigger maps it (CONTRIBUTING.md)
		throw new Error('The crypto store file cannot be opened with this passphrase');
	}
}

type IdbFactory = {
	open(name: string, version?: number): IdbRequest<IdbDatabase>;
	deleteDatabase(name: string): IdbRequest<unknown>;
	databases(): Promise<Array<{ name?: string; version?: number }>>;
};
type IdbRequest<T> = {
	result: T;
	error: unknown;
	onsuccess: ((this: unknown, ev: unknown) => void) | null;
	onerror: ((this: unknown, ev: unknown) => void) | null;
	onupgradeneeded?: ((this: unknown, ev: unknown) => void) | null;
	onblocked?: ((this: unknown, ev: unknown) => void) | null;
	transaction?: IdbTransaction | null;
};
type IdbIndex = { name: string; keyPath: string | string[]; unique: boolean; multiEntry: boolean };
type IdbStore = {
	name: string;
	keyPath: string | string[] | null;
	autoIncrement: boolean;
	indexNames: ArrayLike<string>;
	index(name: string): IdbIndex;
	createIndex(name: string, keyPath: string | string[], options: { unique: boolean; multiEntry: boolean }): void;
	getAll(): IdbRequest<unknown[]>;
	getAllKeys(): IdbRequest<unknown[]>;
	put(value: unknown, key?: unknown): IdbRequest<unknown>;
};
type IdbTransaction = {
	objectStore(name: string): IdbStore;
	oncomplete: (() => void) | null;
	onerror: (() => void) | null;
	onabort: (() => void) | null;
	error: unknown;
};
type IdbDatabase = {
	version: number;
	objectStoreNames: ArrayLike<string>;
	transaction(names: string[], mode: 'readonly' | 'readwrite'): IdbTransaction;
	createObjectStore(name: string, options: { keyPath: string | string[] | null; autoIncrement: boolean }): IdbStore;
	close(): void;
};

interface StoreSnapshot {
	name: string;
	keyPath: string | string[] | null;
	autoIncrement: boolean;
	indexes: Array<{ name: string; keyPath: string | string[]; unique: boolean; multiEntry: boolean }>;
	keys: unknown[];
	values: unknown[];
}
interface DatabaseSnapshot {
	/** The database's name after the session's prefix (e.g. `::matrix-sdk-crypto`). */
	name: string;
	version: number;
	stores: StoreSnapshot[];
}
interface FileSnapshot {
	format: 1;
	databases: DatabaseSnapshot[];
}

let factory: IdbFactory | undefined;

/**
 * The process's IndexedDB: fake-indexeddb, installed as the globals the Rust crypto's wasm looks
 * up (`indexedDB`, `IDBKeyRange`, …) unless the runtime has its own. Loaded on first use, so a
 * process without encrypted rooms never loads it.
 */
export function processIndexedDb(): IdbFactory {
	if (factory) return factory;
	const scope = globalThis as Record<string, unknown>;
	if (!scope.indexedDB) {
		// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
		const fake = require('fake-indexeddb') as Record<string, unknown>;
		for (const name of [
			'indexedDB',
			'IDBCursor',
			'IDBCursorWithValue',
			'IDBDatabase',
			'IDBFactory',
			'IDBIndex',
			'IDBKeyRange',
			'IDBObjectStore',
			'IDBOpenDBRequest',
			'IDBRequest',
			'IDBTransaction',
			'IDBVersionChangeEvent',
		])
			if (scope[name] === undefined) scope[name] = fake[name];
	}
	factory = scope.indexedDB as IdbFactory;
	return factory;
}

function settle<T>(request: IdbRequest<T>): Promise<T> {
	return new Promise((resolve, reject) => {
		request.onsuccess = () => resolve(request.result);
		request.onerror = () => reject(request.error);
	});
}

function done(transaction: IdbTransaction): Promise<void> {
	return new Promise((resolve, reject) => {
		transaction.oncomplete = () => resolve();
		transaction.onerror = () => reject(transaction.error);
		transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
	});
}

/** The file of one bot device: `<n8n folder>/pretix-matrix-crypto/<hash>.store`. */
export function cryptoStorePath(owner: { homeserverUrl: string; userId: string; deviceId: string }, folder = n8nFolder()): string {
	const digest = createHash('sha256')
		.update(`${owner.homeserverUrl}\n${owner.userId}\n${owner.deviceId}`)
		.digest('hex')
		.slice(0, 32);
	return join(folder, 'pretix-matrix-crypto', `${digest}.store`);
}

export function cryptoStoreExists(path: string): boolean {
	return existsSync(path);
}

async function snapshotDatabase(idb: IdbFactory, name: string): Promise<DatabaseSnapshot> {
	const db = await settle(idb.open(name));
	try {
		const names = Array.from(db.objectStoreNames);
		const stores: StoreSnapshot[] = [];
		if (names.length) {
			// One read-only transaction over every store: a consistent picture between the SDK's writes.
			const tx = db.transaction(names, 'readonly');
			const finished = done(tx);
			for (const storeName of names) {
				const store = tx.objectStore(storeName);
				const indexes = Array.from(store.indexNames).map((indexName) => {
					const index = store.index(indexName);
					return { name: index.name, keyPath: index.keyPath, unique: index.unique, multiEntry: index.multiEntry };
				});
				const [keys, values] = await Promise.all([settle(store.getAllKeys()), settle(store.getAll())]);
				stores.push({ name: storeName, keyPath: store.keyPath, autoIncrement: store.autoIncrement, indexes, keys, values });
			}
			await finished;
		}
		return { name, version: db.version, stores };
	} finally {
		db.close();
	}
}

/**
 * Writes the databases named `<prefix>…` to the file (atomically: a temporary file, then rename),
 * sealed with `key` when there is a passphrase.
 */
export async function saveCryptoStore(prefix: string, path: string, key?: FileKey): Promise<void> {
	const idb = processIndexedDb();
	const names = (await idb.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith(prefix));
	const databases: DatabaseSnapshot[] = [];
	for (const name of names) databases.push({ ...(await snapshotDatabase(idb, name)), name: name.slice(prefix.length) });
	const snapshot: FileSnapshot = { format: 1, databases };
	const folder = join(path, '..');
	mkdirSync(folder, { recursive: true, mode: 0o700 });
	const temporary = `${path}.tmp`;
	const plain = serialize(snapshot);
	writeFileSync(temporary, key ? seal(plain, key) : plain, { mode: 0o600 });
	chmodSync(temporary, 0o600);
	renameSync(temporary, path);
}

/**
 * Loads the file's databases into the process's IndexedDB under a fresh prefix (one per session:
 * after stopClient the wasm may keep its connections to the previous session's databases open
 * until it is garbage-collected, so they can be neither deleted nor reused safely; the file is
 * the one truth). Returns false when there is no file.
 */
export async function restoreCryptoStore(prefix: string, path: string, passphrase?: string): Promise<{ found: boolean; key?: FileKey }> {
	const idb = processIndexedDb();
	if (!existsSync(path)) return { found: false, key: passphrase ? fileKey(passphrase) : undefined };
	let bytes: Buffer = readFileSync(path);
	const salt = saltOf(bytes);
	if (salt && !passphrase) throw new Error('The crypto store file is sealed with a passphrase, and none is set');
	if (!salt && passphrase) throw new Error('The crypto store file has no passphrase; remove the passphrase or the file');
	const key = salt && passphrase ? fileKey(passphrase, Buffer.from(salt)) : undefined;
	if (key) bytes = unseal(bytes, key);
	const snapshot = deserialize(bytes) as FileSnapshot;
	if (snapshot?.format !== 1 || !Array.isArray(snapshot.databases))
		throw new Error('The crypto store file is not readable (unknown format)');
	for (const database of snapshot.databases) {
		const request = idb.open(prefix + database.name, database.version);
		request.onupgradeneeded = () => {
			const db = request.result;
			const tx = request.transaction!;
			for (const store of database.stores) {
				const created = db.createObjectStore(store.name, { keyPath: store.keyPath, autoIncrement: store.autoIncrement });
				for (const index of store.indexes)
					created.createIndex(index.name, index.keyPath, { unique: index.unique, multiEntry: index.multiEntry });
			}
			for (const store of database.stores) {
				const target = tx.objectStore(store.name);
				store.values.forEach((value, i) => {
					// In-line keys come from the value itself; out-of-line ones are given.
					if (store.keyPath === null) target.put(value, store.keys[i]);
					else target.put(value);
				});
			}
		};
		const db = await settle(request);
		db.close();
	}
	return { found: true, key };
}

/**
 * Drops a session's in-memory databases once nothing holds them any more. Not awaited: IndexedDB
 * deletes a database only after its last connection closed (the wasm's, see above).
 */
export async function deleteCryptoDatabases(prefix: string): Promise<void> {
	const idb = processIndexedDb();
	for (const { name } of await idb.databases()) if (name?.startsWith(prefix)) idb.deleteDatabase(name);
}
