import { createHmac } from 'node:crypto';

import { normalizeMxid } from '../mxid';

/**
 * Keyed hashes for everything personal the ledger must recognise again. One key per purpose,
 * derived from the credential's secret, so a subject hash cannot be matched against a Matrix-ID
 * hash and a leaked table cannot be reversed by hashing a list of known Matrix IDs without the
 * secret.
 */
export type HashPurpose = 'subject' | 'mxid' | 'order';

const CONTEXT = 'n8n-nodes-pretix-matrix/ledger/v1/';

export class SubjectHasher {
	private readonly keys: Record<HashPurpose, Buffer>;

	constructor(secret: string) {
		if (typeof secret !== 'string' || secret.length < 8) {
			throw new Error('The store secret must be at least 8 characters long');
		}
		const derive = (purpose: HashPurpose) =>
			createHmac('sha256', secret)
				.update(CONTEXT + purpose)
				.digest();
		this.keys = { subject: derive('subject'), mxid: derive('mxid'), order: derive('order') };
	}

	hash(purpose: HashPurpose, value: string): string {
		return createHmac('sha256', this.keys[purpose]).update(value, 'utf8').digest('base64url');
	}

	subject(value: string): string {
		return this.hash('subject', value);
	}

	/** Matrix IDs are hashed in normalised form, so `@Alice:Example.org ` finds `@alice:example.org`. */
	matrixId(value: string): string {
		return this.hash('mxid', canonicalMatrixId(value));
	}

	orderCode(value: string): string {
		return this.hash('order', canonicalOrderCode(value));
	}
}

export function canonicalMatrixId(value: string): string {
	return normalizeMxid(value).userId ?? value.trim();
}

/** pretix order codes are upper-case letters and digits. */
export function canonicalOrderCode(value: string): string {
	return value.trim().toUpperCase();
}
