import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Reversible protection for the one personal value the ledger must be able to name again: the
 * Matrix ID a ticket was granted to. When the attendee changes their answer, the old ID's invite
 * must be withdrawn, and no keyed hash gives that ID back; likewise, when a room is upgraded, the
 * people its grants name are invited into the replacement room (tickets.ts planUpgradeInvites).
 * AES-256-GCM under a key derived from the ledger secret; the value is deleted with its row (purge,
 * forget, retention).
 */
const CONTEXT = 'n8n-nodes-pretix-matrix/ledger/v1/seal';
const VERSION = 'v1.';

export class Sealer {
	private readonly key: Buffer;

	constructor(secret: string) {
		this.key = createHmac('sha256', secret).update(CONTEXT).digest();
	}

	seal(value: string): string {
		const iv = randomBytes(12);
		const cipher = createCipheriv('aes-256-gcm', this.key, iv);
		const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
		return VERSION + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
	}

	/** The sealed value, or null when it was sealed under another secret or is damaged. */
	unseal(sealed: string): string | null {
		if (typeof sealed !== 'string' || !sealed.startsWith(VERSION)) return null;
		const raw = Buffer.from(sealed.slice(VERSION.length), 'base64url');
		if (raw.length < 29) return null;
		try {
			const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
			decipher.setAuthTag(raw.subarray(12, 28));
			return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
		} catch {
			return null;
		}
	}
}
