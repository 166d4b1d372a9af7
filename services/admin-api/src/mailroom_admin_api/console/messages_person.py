"""Messages of the "Needs a person" page (key → (Spanish, English)); merged into
:data:`mailroom_admin_api.console.i18n.MESSAGES`."""

from __future__ import annotations

__all__ = ["MESSAGES"]

MESSAGES: dict[str, tuple[str, str]] = {
    "status.resolved": ("Resuelto por una persona", "Resolved by a person"),
    "person.title": ("Para una persona", "Needs a person"),
    "person.intro": (
        "Correos que el bot no contesta: los más antiguos primero. Ábralos, contéstelos en "
        "el buzón y márquelos como resueltos; devuelva al bot los hilos que ya no necesitan "
        "a una persona.",
        "Mail the bot does not answer, oldest first. Open one, answer it in the mailbox and "
        "mark it resolved; give back to the bot the threads that no longer need a person.",
    ),
    "person.handoffs": ("Esperan a una persona", "Waiting for a person"),
    "person.handoffs_count": ("{n} en total", "{n} in all"),
    "person.handoffs_empty": ("Ningún correo espera a una persona.", "No mail waits for a person."),
    "person.threads": ("Hilos de una persona", "Threads a person owns"),
    "person.threads_intro": (
        "El bot no contesta ningún correo de estos hilos hasta que se devuelvan o pasen "
        "los días de silencio.",
        "The bot answers no mail of these threads until they are given back or stay quiet "
        "long enough.",
    ),
    "person.threads_count": ("{n} en total", "{n} in all"),
    "person.threads_empty": ("Ningún hilo es de una persona.", "No thread is owned by a person."),
    "person.first_n": (
        "Se muestran los {shown} más antiguos.",
        "Showing the {shown} oldest.",
    ),
    "person.subject": ("Asunto", "Subject"),
    "person.from": ("De", "From"),
    "person.status": ("Estado", "Status"),
    "person.reason": ("Motivo", "Reason"),
    "person.waiting": ("Espera desde", "Waiting since"),
    "person.age": ("Tiempo", "Age"),
    "person.owned_since": ("De una persona desde", "Owned since"),
    "person.last_activity": ("Última actividad", "Last activity"),
    "person.quiet_until": ("Vuelve al bot", "Back to the bot"),
    "person.actions": ("Acciones", "Actions"),
    "person.open": ("Abrir", "Open"),
    "person.no_subject": ("(sin asunto)", "(no subject)"),
    "person.resolve": ("Marcar resuelto", "Mark resolved"),
    "person.release": ("Devolver al bot", "Give back to the bot"),
    "person.done_resolved": (
        "Marcado como resuelto. Sale de la lista en cuanto se registra (unos segundos).",
        "Marked resolved. It leaves the list as soon as it is recorded (a few seconds).",
    ),
    "person.done_released": (
        "Hilo devuelto al bot: contestará su próximo correo.",
        "Thread given back to the bot: it answers its next mail.",
    ),
    "person.not_found": (
        "Ese correo ya no existe.",
        "That mail no longer exists.",
    ),
    "person.not_waiting": (
        "Ese correo ya no espera a una persona (quizá otra persona lo resolvió).",
        "That mail no longer waits for a person (someone may have resolved it already).",
    ),
    "person.not_owned": (
        "Ese hilo ya no es de una persona (ya se devolvió o pasó su tiempo).",
        "That thread is no longer owned (already given back, or quiet too long).",
    ),
    "person.kafka": (
        "No se pudo registrar ahora (Kafka no responde). Inténtelo de nuevo.",
        "It could not be recorded now (Kafka does not answer). Try again.",
    ),
}
