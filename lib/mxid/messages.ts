/**
 * Why a Matrix ID was rejected, and what was changed while normalising it. Every code has one
 * sentence an organizer can forward to the attendee as is; the sentences never contain the
 * attendee's input (it may be personal data and it would end up in logs and e-mails).
 */
export type MxidReason =
	| 'empty'
	| 'notText'
	| 'tooLong'
	| 'isRoomOrAlias'
	| 'looksLikeEmail'
	| 'unsupportedLink'
	| 'missingServer'
	| 'missingLocalpart'
	| 'containsSpace'
	| 'badLocalpart'
	| 'badServerName'
	| 'badPort'
	| 'unknownUser';

export type MxidNote =
	| 'trimmed'
	| 'removedInvisibleCharacters'
	| 'removedQuotes'
	| 'removedSpaceAroundSeparator'
	| 'unwrappedLink'
	| 'addedAtSign'
	| 'addedDefaultServer'
	| 'lowercasedLocalpart'
	| 'lowercasedServerName'
	| 'removedTrailingDot';

const EXAMPLE =
	'A Matrix ID looks like @name:example.org (an @, your user name, a colon, and your server).';

export const REASON_MESSAGES: Readonly<Record<MxidReason, string>> = {
	empty: `No Matrix ID was given. ${EXAMPLE}`,
	notText: `The Matrix ID field did not contain text. ${EXAMPLE}`,
	tooLong: `The Matrix ID is too long: a Matrix ID is at most 255 characters. ${EXAMPLE}`,
	isRoomOrAlias: `This is the address of a Matrix room, not of a person. Please give your own Matrix user ID. ${EXAMPLE}`,
	looksLikeEmail: `This looks like an e-mail (or fediverse) address, not a Matrix ID. ${EXAMPLE}`,
	unsupportedLink: `This link does not point to a Matrix user. Please give your Matrix ID itself or a matrix.to link to your profile. ${EXAMPLE}`,
	missingServer: `The Matrix ID has no server part after the user name. ${EXAMPLE} Your client shows the full ID in its settings.`,
	missingLocalpart: `The Matrix ID has no user name before the server. ${EXAMPLE}`,
	containsSpace: `The Matrix ID contains a space; Matrix IDs never contain spaces. ${EXAMPLE}`,
	badLocalpart: `The user name part of the Matrix ID contains characters that are not allowed (only a-z, 0-9 and . _ = - / + are). ${EXAMPLE}`,
	badServerName: `The server part of the Matrix ID is not a valid server name. ${EXAMPLE}`,
	badPort: `The server part of the Matrix ID has an invalid port number (it must be between 1 and 65535). ${EXAMPLE}`,
	unknownUser: `No Matrix account with this ID exists on its server. Please check the spelling of your Matrix ID. ${EXAMPLE}`,
};

export const NOTE_MESSAGES: Readonly<Record<MxidNote, string>> = {
	trimmed: 'Spaces around the Matrix ID were removed.',
	removedInvisibleCharacters: 'Invisible characters (such as zero-width spaces) were removed.',
	removedQuotes: 'Quotes or angle brackets around the Matrix ID were removed.',
	removedSpaceAroundSeparator: 'Spaces next to the @ or the colon were removed.',
	unwrappedLink: 'The Matrix ID was taken from a link.',
	addedAtSign: 'The leading @ was missing and has been added.',
	addedDefaultServer: 'The server part was missing; the default server was added.',
	lowercasedLocalpart:
		'Upper-case letters in the user name were changed to lower case (Matrix user names are always lower case).',
	lowercasedServerName: 'Upper-case letters in the server name were changed to lower case.',
	removedTrailingDot: 'A dot at the end of the server name was removed.',
};
