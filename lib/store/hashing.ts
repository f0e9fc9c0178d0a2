import { createHmac } from 'node:crypto';

import { normalizeMxid } from '../mxid';
import { secretWeakness, type SecretWeakness } from '../secrets';
import { LedgerInputError } from './types';

/**
 * Keyed hashes for everything personal the ledger must recognise again. One key per purpose,
 * derived from the credential's secret, so a subject hash cannot be matched against a Matrix-ID
 * hash and a leaked table cannot be reversed by hashing a list of known Matrix IDs without the
 * secret.
 *
 * Rotation: with a previous secret, every value has two hashes — under the current secret first,
 * then under the previous one. Readers look up both; writers write the current one. Once every
 * entry written under the previous secret is gone (purged with its event, or past retention), the
 * previous secret can be removed from the credential.
 */
export type HashPurpose = 'subject' | 'mxid' | 'order';

const CONTEXT = 'n8n-nodes-pretix-matrix/ledger/v1/';
const PURPOSES: readonly HashPurpose[] = ['subject', 'mxid', 'order'];

const LEDGER_SECRET_HINT =
	"generate one with `openssl rand -base64 32` or `node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"`";

/** At least this many characters: order codes are short (5 of 28 signs), only the key protects them. */
export const MIN_LEDGER_SECRET_LENGTH = 32;

const WEAKNESS_MESSAGES: Record<SecretWeakness, string> = {
	empty: 'The ledger secret (HMAC Secret) is empty',
	tooShort: `The ledger secret (HMAC Secret) must be at least ${MIN_LEDGER_SECRET_LENGTH} characters long`,
	placeholder: 'The ledger secret (HMAC Secret) is a placeholder or a well-known value',
	lowVariety:
		'The ledger secret (HMAC Secret) is too regular (few distinct characters, runs, sequences or repeated blocks)',
};

/** Why a ledger secret is not good enough, or undefined when it is. Never contains the secret. */
export function ledgerSecretProblem(secret: unknown): string | undefined {
	const weakness = secretWeakness(secret, { minLength: MIN_LEDGER_SECRET_LENGTH });
	return weakness ? `${WEAKNESS_MESSAGES[weakness]}: ${LEDGER_SECRET_HINT}` : undefined;
}

type Keys = Record<HashPurpose, Buffer>;

function deriveKeys(secret: string): Keys {
	const derive = (purpose: HashPurpose) =>
		createHmac('sha256', secret)
			.update(CONTEXT + purpose)
			.digest();
	return Object.fromEntries(PURPOSES.map((p) => [p, derive(p)])) as Keys;
}

function hmac(key: Buffer, value: string): string {
	return createHmac('sha256', key).update(value, 'utf8').digest('base64url');
}

export interface SubjectHasherOptions {
	/**
	 * The secret used before the current one, while a rotation is under way. Only checked for being
	 * set: it is usually the weak one being replaced. Ignored when equal to the current secret.
	 */
	previousSecret?: string;
}

export class SubjectHasher {
	private readonly keys: Keys;
	private readonly previousKeys?: Keys;

	constructor(secret: string, options: SubjectHasherOptions = {}) {
		const problem = ledgerSecretProblem(secret);
		if (problem) throw new LedgerInputError(problem);
		this.keys = deriveKeys(secret);
		const previous = options.previousSecret;
		if (typeof previous === 'string' && previous !== '' && previous !== secret)
			this.previousKeys = deriveKeys(previous);
	}

	/**
	 * A hasher for a secret that is no longer checked: the previous secret of a rotation, which is
	 * usually the weak one being replaced. Only to name keys written under it.
	 */
	static unchecked(secret: string): SubjectHasher {
		const hasher = Object.create(SubjectHasher.prototype) as SubjectHasher;
		(hasher as unknown as { keys: Keys }).keys = deriveKeys(secret);
		return hasher;
	}

	/** Whether a previous secret is configured (lookups must try both hashes). */
	get rotating(): boolean {
		return this.previousKeys !== undefined;
	}

	/** The hash under the current secret: what is written. */
	hash(purpose: HashPurpose, value: string): string {
		return hmac(this.keys[purpose], value);
	}

	/** Every hash the value may be stored under: the current secret's first, then the previous one's. */
	hashes(purpose: HashPurpose, value: string): string[] {
		const current = this.hash(purpose, value);
		return this.previousKeys ? [current, hmac(this.previousKeys[purpose], value)] : [current];
	}

	subject(value: string): string {
		return this.hash('subject', value);
	}

	subjects(value: string): string[] {
		return this.hashes('subject', value);
	}

	/** Matrix IDs are hashed in normalised form, so `@Alice:Example.org ` finds `@alice:example.org`. */
	matrixId(value: string): string {
		return this.hash('mxid', canonicalMatrixId(value));
	}

	matrixIds(value: string): string[] {
		return this.hashes('mxid', canonicalMatrixId(value));
	}

	orderCode(value: string): string {
		return this.hash('order', canonicalOrderCode(value));
	}

	orderCodes(value: string): string[] {
		return this.hashes('order', canonicalOrderCode(value));
	}
}

export function canonicalMatrixId(value: string): string {
	return normalizeMxid(value).userId ?? value.trim();
}

/** pretix order codes are upper-case letters and digits. */
export function canonicalOrderCode(value: string): string {
	return value.trim().toUpperCase();
}
