"""The built-in text of the portal emails (POR-6), per kind and language: what a portal sends
until an admin customises it, and what "Reset to default" brings back. Written in the same
`{placeholder}` language admins use (portals.emails), so the same formatter renders both.

English, Japanese, French, German and Spanish ship; a language not listed here falls back to
the portal's default language, then to English (portals.emails.content_for)."""

DEFAULT_LANGUAGE = "en"
# The languages an email template can be written in, with their names in that language.
EMAIL_LANGUAGES = {
    "en": "English",
    "ja": "日本語",
    "fr": "Français",
    "de": "Deutsch",
    "es": "Español",
}

ACCEPT_INVITATION = "accept_invitation"
CONFIRM_EMAIL = "confirm_email"

DEFAULT_EMAILS: dict[str, dict[str, dict[str, str]]] = {
    ACCEPT_INVITATION: {
        "en": {
            "subject": "Your invitation to {portal_name}",
            "body_html": (
                "<p>Hello {contact_first_name},</p>"
                "<p>{org_name} invited you to {portal_name}, where you can see and update "
                "your information.</p>"
                "<p>The link works once, until {link_expires_at}.</p>"
            ),
            "action": "Accept the invitation",
        },
        "ja": {
            "subject": "{portal_name} への招待",
            "body_html": (
                "<p>{contact_last_name} 様</p>"
                "<p>{org_name} から {portal_name} に招待されました。ポータルでご自身の情報を"
                "確認・更新できます。</p>"
                "<p>このリンクは {link_expires_at} まで、一度だけ使えます。</p>"
            ),
            "action": "招待を承諾する",
        },
        "fr": {
            "subject": "Votre invitation à {portal_name}",
            "body_html": (
                "<p>Bonjour {contact_first_name},</p>"
                "<p>{org_name} vous invite sur {portal_name}, où vous pourrez consulter et "
                "mettre à jour vos informations.</p>"
                "<p>Le lien ne sert qu’une fois, jusqu’au {link_expires_at}.</p>"
            ),
            "action": "Accepter l’invitation",
        },
        "de": {
            "subject": "Ihre Einladung zu {portal_name}",
            "body_html": (
                "<p>Hallo {contact_first_name},</p>"
                "<p>{org_name} hat Sie zu {portal_name} eingeladen. Dort können Sie Ihre "
                "Angaben einsehen und aktualisieren.</p>"
                "<p>Der Link gilt einmal, bis {link_expires_at}.</p>"
            ),
            "action": "Einladung annehmen",
        },
        "es": {
            "subject": "Su invitación a {portal_name}",
            "body_html": (
                "<p>Hola, {contact_first_name}:</p>"
                "<p>{org_name} le ha invitado a {portal_name}, donde podrá consultar y "
                "actualizar sus datos.</p>"
                "<p>El enlace sirve una sola vez, hasta el {link_expires_at}.</p>"
            ),
            "action": "Aceptar la invitación",
        },
    },
    CONFIRM_EMAIL: {
        "en": {
            "subject": "Confirm your new email address for {portal_name}",
            "body_html": (
                "<p>Hello {contact_first_name},</p>"
                "<p>Please confirm this address for your account on {portal_name}. Until you "
                "do, you keep signing in with your previous address.</p>"
                "<p>The link works once, until {link_expires_at}.</p>"
            ),
            "action": "Confirm the email address",
        },
        "ja": {
            "subject": "{portal_name} の新しいメールアドレスの確認",
            "body_html": (
                "<p>{contact_last_name} 様</p>"
                "<p>{portal_name} のアカウントのメールアドレスとして、このアドレスを確認して"
                "ください。確認が済むまでは、これまでのアドレスでサインインできます。</p>"
                "<p>このリンクは {link_expires_at} まで、一度だけ使えます。</p>"
            ),
            "action": "メールアドレスを確認する",
        },
        "fr": {
            "subject": "Confirmez votre nouvelle adresse e-mail pour {portal_name}",
            "body_html": (
                "<p>Bonjour {contact_first_name},</p>"
                "<p>Merci de confirmer cette adresse pour votre compte sur {portal_name}. "
                "D’ici là, vous continuez à vous connecter avec votre ancienne adresse.</p>"
                "<p>Le lien ne sert qu’une fois, jusqu’au {link_expires_at}.</p>"
            ),
            "action": "Confirmer l’adresse e-mail",
        },
        "de": {
            "subject": "Bestätigen Sie Ihre neue E-Mail-Adresse für {portal_name}",
            "body_html": (
                "<p>Hallo {contact_first_name},</p>"
                "<p>Bitte bestätigen Sie diese Adresse für Ihr Konto bei {portal_name}. Bis "
                "dahin melden Sie sich weiter mit Ihrer bisherigen Adresse an.</p>"
                "<p>Der Link gilt einmal, bis {link_expires_at}.</p>"
            ),
            "action": "E-Mail-Adresse bestätigen",
        },
        "es": {
            "subject": "Confirme su nueva dirección de correo para {portal_name}",
            "body_html": (
                "<p>Hola, {contact_first_name}:</p>"
                "<p>Confirme esta dirección para su cuenta en {portal_name}. Hasta entonces, "
                "seguirá iniciando sesión con su dirección anterior.</p>"
                "<p>El enlace sirve una sola vez, hasta el {link_expires_at}.</p>"
            ),
            "action": "Confirmar la dirección de correo",
        },
    },
}


def default_email(kind: str, language: str) -> dict[str, str] | None:
    """The shipped subject, body and accept-control label, or None for a language we don't
    ship."""
    return DEFAULT_EMAILS[kind].get(language)
