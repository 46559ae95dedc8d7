# casevault's pages in English. Every id here is in locales/es/main.ftl too (a test
# checks); arguments are written { $name }.

## The frame of every page
skip-to-main = Skip to main content
nav-main = Main
nav-cases = Cases
nav-shared-cases = Shared cases
nav-coming-up = Coming up
nav-office = Office
nav-users = Users
nav-audit = Audit log
your-account = Your account
signed-in-as = Signed in as
sign-out = Sign out
footer-keys = casevault keeps every client file encrypted with keys your office holds.
footer-zone = Times are shown in { $zone } time.
switch-language = Español
switch-language-label = Leer en español
waiting-banner = Your account is waiting for a supervisor of your office to confirm it; until then you cannot open client files.
waiting-title = Waiting for confirmation
waiting-body = Client files open once a supervisor of your office has confirmed your account. Ask your supervisor to confirm it on their Cases page; nothing else is needed from you.
title-suffix = casevault

## Roles
role-caseworker = caseworker
role-partner = partner attorney
role-admin = office administrator
role-superadmin = coalition operator
role-auditor = auditor
role-user = user

## Signing in
login-title = Sign in
login-heading = Sign in to casevault
login-username = Username
login-password = Password
login-code = 6-digit code from your authenticator app
login-code-help = Open the authenticator app on your phone and type the code it shows for casevault. Lost your phone? Type one of your recovery codes instead. If you have not set up an app yet, leave this empty.
login-submit = Sign in
login-passkey-heading = Or sign in with a passkey
login-passkey-help = A passkey on this device or your phone replaces the password and the code. Add one on your account page once you are signed in.
login-passkey-button = Sign in with a passkey
login-failed = That did not work. Check your username, password and the 6-digit code, then try again.

## Error pages
error-back-cases = Go to your cases
error-sign-in-again = Sign in again
error-not-found-title = Not found
error-not-found-body = We could not find that page or case. It may never have existed, it may have been deleted, or it has not been shared with you.
error-not-found-hint = If someone sent you this link, ask them to check that the case is shared with your account.
error-csrf-title = This form has expired
error-csrf-body = For your safety we did not act on it: the form did not carry the security code of your current session. This happens when a page was left open from an earlier sign-in, or when another website tried to send it.
error-csrf-hint = Go back, reload the page, and try again. Nothing was changed.
error-bad-form-title = That form could not be read
error-bad-form-body = Some of what was sent is missing or too long. Go back, check the form and try again. Nothing was changed.
error-method-title = That cannot be done here
error-method-body = This page exists, but not for what the browser asked of it. Nothing was changed.
error-sealed-title = This office is sealed
error-sealed-body = The { $office } office is sealed: its encryption keys have been removed from the server, so nobody can read its case files until it is unsealed.
error-sealed-who = Only a key holder of the { $office } office can unseal it, with their passphrase and their authenticator code. If you did not expect this, contact your office administrator.
error-sealed-still = Staff of the office can still open new cases and add documents: they are encrypted straight away and become readable after unsealing.
error-throttled-title = Too many attempts
error-throttled-body = There have been too many unsuccessful sign-in attempts. For safety, signing in is paused for a while.
error-throttled-wait = Please try again in { $wait }.
error-throttled-hint = If you have forgotten your password or lost your phone, ask your office administrator to reset it.
error-back-sign-in = Back to sign-in
error-forbidden-title = Not allowed
error-forbidden-body = Your account is not allowed to do that. If you think it should be, ask your office administrator.
error-server-title = Something went wrong on our side
error-failed-title = That did not work
error-failed-body = Nothing was changed. Go back and try again; if it keeps happening, tell your office administrator and quote the message above.
wait-seconds = { $n } seconds
wait-minute = 1 minute
wait-minutes = { $n } minutes

## What a refused action says
words-invalid-code = That code did not work. Codes change every 30 seconds and each can be used once: wait for the next code and try again.
words-wrong-passphrase = That passphrase does not open this office. A passphrase casevault made is five groups of five small letters and digits joined by dashes, like k7m2p-q9x4a-…; check each group against the paper and try again.
words-step-up = Enter the 6-digit code from your authenticator app.
words-legal-hold = A legal hold covers this, so nothing in it can be deleted. Lift the hold first if the legal matter has ended.
words-sealed = The { $office } office is sealed. Ask a key holder of { $office } to unseal it.
words-forbidden = Your account is not allowed to do that.
words-passkey-required = This account signs in with its passkey: choose “Sign in with a passkey” below. If you have lost it, ask your administrator to reset your account.
words-busy = The server is busy. Please try again in { $wait }.
words-network-throttled = Too many failed sign-ins from your network. Signing in from it can start again in { $wait }; a browser that has signed in before is not affected.
words-throttled = Too many failed attempts on this account. This account can try again in { $wait }; other accounts are not affected.
words-store-unavailable = The document store cannot be reached right now, so nothing was stored or changed. Please try again in a minute.
words-internal = Something went wrong on the server (reference { $id }). Nothing was changed.

## After a change (the notice at the top of the next page)
done-case-created = The case was opened.
done-uploaded = The document was uploaded and encrypted.
done-shared = The case was shared. The partner can see it until the date shown.
done-passkey-added = The passkey was added. Next time, choose “Sign in with a passkey”.
done-passkey-removed = The passkey was removed. It can no longer sign in to your account.
done-share-changed = This partner already had the case: their share now allows what you chose, until the date shown.
done-link-revoked = The link was revoked. It takes no more files.
done-revoked = The share was revoked. The partner can no longer see this case.
done-sealed = The office is sealed. Nobody can read its files until it is unsealed.
done-unsealed = The office is unsealed. Its files can be read again.
done-sealed-all = Every office you administer is sealed.
done-time-zone = The time zone is saved. Pages of this office now show times in it.
done-holder-invited = The administrator is invited. They set up their own key from this page (Who holds the office key).
done-holder-removed = The key holder is removed and the office key was replaced: their passphrase opens nothing from now on.
done-holder-passkey = Your passkey now unseals the office: on this page, “Unseal with my passkey”. Your passphrase still works too.
done-rotated = The office key was replaced. Every case was re-wrapped to the new key; everyone keeps their own passphrase.
done-user-created = The account was created. Give the person their username and password; they will set up their authenticator app when they first sign in. A caseworker account opens no case until a supervisor of the office confirms it.
done-disabled = The account is disabled and signed out everywhere.
done-enabled = The account can sign in again.
done-password-reset = The password was changed and the person was signed out everywhere.
done-totp-reset = The authenticator was reset. The person sets up their app again when they next sign in (a caseworker then waits for confirmation again).
done-password-changed = Your password is changed. You were signed out on every other device, and browsers remembered for your account are forgotten.
done-signed-out = You are signed out.
done-access-confirmed = The account is confirmed: it can now open the cases its role allows.
done-held = The legal hold is in place. Nothing in this case can be deleted until the hold is lifted.
done-lifted = The legal hold is lifted. The case can be deleted again (by hand or by the retention schedule).
done-office-held = The whole office is under a legal hold. None of its cases can be deleted until the hold is lifted.
done-office-lifted = The office-wide legal hold is lifted.
done-purged = The case was permanently deleted. Its keys are destroyed: nobody can read it any more.
done-office-purged = The office was permanently deleted with all its cases, documents and accounts, including yours.
done-closed = The case is closed. It stays readable until the retention period ends.
done-details-saved = The details were saved. The earlier version is kept in the history.
done-details-unchanged = Nothing was changed: the details are the same as before.
done-note-added = The note was added.
done-note-corrected = The correction was added. The original note stays, marked as corrected.
done-event-added = The date was added. It shows on the Coming up page.
done-event-changed = The date was changed. The old one stays on the case, marked as moved.
done-renamed = The document was renamed.
done-document-deleted = The document was permanently deleted. Its key is destroyed: nobody can read it any more.
done-language = The pages now speak English.

## The case list (cases.rs)
cases-title = Cases
cases-heading = Cases
cases-heading-partner = Cases shared with you
cases-sealed-heading = The { $office } office is sealed
cases-sealed-body = Client names and documents are hidden until an administrator of the { $office } office unseals it. You can still open new cases; they are encrypted straight away.
cases-search-label = Find a case by A-number or any words of the client’s name
cases-search-button = Search
cases-show-all = Show all cases
cases-search-sealed = Search is not possible while the office is sealed.
cases-search-none = No case has that A-number, or a client name with every one of those words (whole words, in any order; capitals and accents do not matter).
cases-none-partner = No case is shared with you at the moment.
cases-none-waiting = Cases of your office appear here once your account is confirmed.
cases-none = There are no cases yet.
cases-table-caption = Your cases
cases-col-client = Client
cases-col-office = Office
cases-col-access = Your access
cases-col-shared-until = Shared until
cases-col-opened = Opened
cases-col-status = Status
cases-sealed-case = Sealed case { $id }
cases-access-upload = Read and add documents
cases-access-read = Read only
cases-status-closed = Closed
cases-status-open = Open
cases-tag-hold = Legal hold
cases-tag-sealed = Sealed
cases-news-one = 1 new file from the client
cases-news-many = { $n } new files from the client
cases-pager-label = More cases
cases-newest = ← Newest cases
cases-older = Older cases →
cases-search-needs-unsealed = Searching needs the office unsealed. Ask an administrator of your office to unseal it.
new-case-heading = Open a new case
new-case-client-name = Client’s full name
new-case-a-number = A-number (optional)
new-case-a-number-help = 8 or 9 digits, with or without the A, dashes or spaces, e.g. A-012-345-678.
new-case-dob = Date of birth (optional)
new-case-dob-help = Year-month-day, e.g. 1990-03-21 (your browser may show a calendar).
new-case-country = Country of birth (optional)
new-case-notes = Notes (optional)
new-case-submit = Open case

## Accounts a supervisor confirms, on the case list (confirm.rs)
pending-heading = Accounts waiting for your confirmation
pending-intro = An administrator created these accounts, switched them back on, or gave them a new password or authenticator. They can open no case until a supervisor confirms that they belong to the person you expect. If you do not know why one is here, do not confirm it: ask your administrator.
