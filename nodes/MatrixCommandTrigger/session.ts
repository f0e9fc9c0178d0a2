import type { ICredentialDataDecryptedObject, ITriggerFunctions } from 'n8n-workflow';

import { fetchTransport } from '../../lib/http/fetch-transport';
import { MatrixClient } from '../../lib/matrix/client';

/**
 * The access token the sync client needs. In password mode we first let n8n sign a whoami request,
 * which runs the credential's `preAuthentication` (one login, token stored with the credential), then
 * read the stored token. Only if n8n did not hand it back do we log in ourselves, on a device of our
 * own so the two sessions never invalidate each other.
 */
export async function accessTokenFor(
	context: ITriggerFunctions,
	credentials: ICredentialDataDecryptedObject,
	homeserverUrl: string,
): Promise<string> {
	if (credentials.authMode !== 'password') return String(credentials.accessToken ?? '');
	if (!credentials.sessionToken) {
		await context.helpers.httpRequestWithAuthentication.call(context, 'matrixBotApi', {
			method: 'GET',
			url: `${homeserverUrl}/_matrix/client/v3/account/whoami`,
			json: true,
			// n8n's default would take the token along to another origin (lib/http/redirect.ts).
			sendCredentialsOnCrossOriginRedirect: false,
		});
		const refreshed = await context.getCredentials('matrixBotApi');
		if (refreshed.sessionToken) return String(refreshed.sessionToken);
	} else {
		return String(credentials.sessionToken);
	}
	const client = new MatrixClient(homeserverUrl, fetchTransport());
	const login = await client.login(
		String(credentials.user ?? '').trim(),
		String(credentials.password ?? ''),
		`${String(credentials.deviceId || 'N8N_PRETIX_BOT')}_TRIGGER`,
	);
	if (!login.ok)
		throw new Error(
			login.kind === 'http'
				? `The homeserver refused the login (${login.status} ${login.errcode})`
				: 'The homeserver is not reachable',
		);
	return login.value.access_token;
}
