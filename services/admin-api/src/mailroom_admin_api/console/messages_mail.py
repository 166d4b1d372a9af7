"""The Mail and Dead letters pages' messages: key → (Spanish, English), merged into
:data:`mailroom_admin_api.console.i18n.MESSAGES` (kept apart so page authors do not edit
one file at the same time)."""

from __future__ import annotations

__all__ = ["MAIL_MESSAGES"]

MAIL_MESSAGES: dict[str, tuple[str, str]] = {
    # Mail: the list.
    "mail.title": ("Correo", "Mail"),
    "mail.intro": (
        "Todos los correos recibidos, los más nuevos primero. Filtre y abra uno para ver "
        "por qué acabó donde está.",
        "Every email received, newest first. Filter, and open one to see why it ended "
        "where it did.",
    ),
    "mail.filter": ("Buscar", "Search"),
    "mail.status": ("Estado", "Status"),
    "mail.route": ("Ruta", "Route"),
    "mail.sender": ("Remitente", "Sender"),
    "mail.subject": ("Asunto", "Subject"),
    "mail.since": ("Desde (día, UTC)", "From (day, UTC)"),
    "mail.until": ("Hasta (día incluido, UTC)", "To (day included, UTC)"),
    "mail.any": ("cualquiera", "any"),
    "mail.search": ("Buscar", "Search"),
    "mail.clear": ("Quitar filtros", "Clear filters"),
    "mail.results": ("Correos", "Emails"),
    "mail.received": ("Recibido", "Received"),
    "mail.reason": ("Motivo", "Reason"),
    "mail.none": ("Ningún correo coincide.", "No email matches."),
    "mail.no_subject": ("(sin asunto)", "(no subject)"),
    "mail.first_page": ("Primera página", "First page"),
    "mail.next_page": ("Página siguiente", "Next page"),
    "mail.bad_status": ("Ese estado no existe.", "There is no such status."),
    "mail.bad_route": ("Esa ruta no existe.", "There is no such route."),
    "mail.bad_date": (
        "Una fecha no se pudo leer (AAAA-MM-DD).",
        "A date could not be read (YYYY-MM-DD).",
    ),
    "mail.bad_cursor": (
        "Ese enlace de página no es válido; vuelva a la primera página.",
        "That page link is not valid; go back to the first page.",
    ),
    # Mail: one task.
    "mail.task_title": ("Correo", "Email"),
    "mail.back": ("← Todos los correos", "← All mail"),
    "mail.from_at": ("De {sender}, recibido {at}", "From {sender}, received {at}"),
    "mail.not_found_title": ("Correo no encontrado", "Email not found"),
    "mail.not_found": ("Ningún correo tiene ese identificador.", "No email has that id."),
    "mail.state": ("Estado", "State"),
    "mail.why": ("Por qué", "Why"),
    "mail.delivery_result": ("Resultado del envío", "Delivery result"),
    "mail.attempts": ("Intentos", "Attempts"),
    "mail.cost": ("Coste del LLM", "LLM cost"),
    "mail.trace": ("Traza", "Trace"),
    "mail.open_trace": ("Abrir la traza", "Open the trace"),
    "mail.no_tracing_ui": (
        "(sin ADMIN_TRACING_UI_BASE_URL no hay enlace)",
        "(no link without ADMIN_TRACING_UI_BASE_URL)",
    ),
    "mail.message_key": ("Clave del mensaje", "Message key"),
    "mail.customer_text": ("Texto del cliente", "The customer's text"),
    "mail.text_not_stored": (
        "El texto de este correo no se guardó.",
        "This email's text was not stored.",
    ),
    "mail.reply": ("Respuesta", "Reply"),
    "mail.no_reply": ("Sin respuesta.", "No reply."),
    "mail.decision": ("Decisión", "Decision"),
    "mail.intent": ("Intención", "Intent"),
    "mail.confidence": ("Confianza", "Confidence"),
    "mail.decided_by": ("Decidido por", "Decided by"),
    "mail.products": ("Productos", "Products"),
    "mail.evidence": ("Indicios", "Evidence"),
    "mail.no_decision": (
        "Todavía no hay decisión de enrutado.",
        "No routing decision yet.",
    ),
    "mail.timeline": ("Historia", "History"),
    "mail.no_changes": ("Ningún cambio de estado.", "No status change."),
    "mail.actions": ("Acciones de operadores", "Operators' actions"),
    "mail.no_actions": ("Ninguna.", "None."),
    "mail.action_corrected": (
        "{at}: {by} corrigió la ruta a {route}",
        "{at}: {by} corrected the route to {route}",
    ),
    "mail.action_reprocessed": (
        "{at}: reprocesado (clave {request_key})",
        "{at}: reprocessed (key {request_key})",
    ),
    "mail.deliveries": ("Envíos", "Deliveries"),
    "mail.kind": ("Tipo", "Kind"),
    "mail.recipient": ("Destinatario", "Recipient"),
    "mail.sent_at": ("Enviado", "Sent"),
    "mail.error": ("Error", "Error"),
    "mail.no_deliveries": ("Nada enviado.", "Nothing sent."),
    "mail.dead_letters": ("Mensajes fallidos", "Dead letters"),
    # Mail: correct the route.
    "mail.correct": ("Corregir la ruta", "Correct this route"),
    "mail.current_correction": (
        "Corrección actual: {route} (por {by}, {at})",
        "Current correction: {route} (by {by}, {at})",
    ),
    "mail.no_correction": ("Sin corrección.", "No correction."),
    "mail.field_route": ("Ruta correcta", "Right route"),
    "mail.field_intent": ("Intención", "Intent"),
    "mail.field_product_skus": ("SKU de productos", "Product SKUs"),
    "mail.field_note": ("Nota", "Note"),
    "mail.intent_help": (
        "Para FAQ el tema (shipping, payments, returns, sizes, stock); minúsculas y _.",
        "For FAQ the topic (shipping, payments, returns, sizes, stock); lower case and _.",
    ),
    "mail.skus_help": (
        "Separados por espacios o comas; deben estar en el catálogo.",
        "Separated by spaces or commas; each must be in the catalogue.",
    ),
    "mail.save_correction": ("Guardar la corrección", "Save the correction"),
    "mail.corrected": ("Corrección guardada.", "Correction saved."),
    "mail.invalid": ("Revise: {fields}.", "Please check: {fields}."),
    # Mail: reprocess.
    "mail.reprocess": ("Reprocesar", "Reprocess"),
    "mail.reprocess_help": (
        "Publica otra vez el correo original para una nueva ejecución. Solo se acepta si "
        "falló o está atascado; nunca si ya se envió la respuesta.",
        "Publishes the original email again for a new run. Accepted only when it failed "
        "or is stuck; never when the reply was already sent.",
    ),
    "mail.reprocess_button": ("Reprocesar este correo", "Reprocess this email"),
    "mail.reprocessed": (
        "Publicado de nuevo; la historia mostrará la nueva ejecución.",
        "Published again; the history will show the new run.",
    ),
    # Dead letters.
    "dead_letters.title": ("Mensajes fallidos", "Dead letters"),
    "dead_letters.intro": (
        "Trabajo abandonado tras los reintentos, con el motivo y la etapa.",
        "Work given up on after its retries, with why and where.",
    ),
    "dead_letters.filter": ("Filtrar", "Filter"),
    "dead_letters.show": ("Mostrar", "Show"),
    "dead_letters.show_open": ("Solo sin reprocesar", "Open only"),
    "dead_letters.show_all": ("Todos", "All"),
    "dead_letters.stage": ("Etapa", "Stage"),
    "dead_letters.error_class": ("Clase de error", "Error class"),
    "dead_letters.bad_stage": ("Esa etapa no existe.", "There is no such stage."),
    "dead_letters.bad_error_class": (
        "Esa clase de error no es válida.",
        "That error class is not valid.",
    ),
    "dead_letters.bad_cursor": (
        "Ese enlace de página no es válido; vuelva a la primera página.",
        "That page link is not valid; go back to the first page.",
    ),
    "dead_letters.list": ("Mensajes", "Dead letters"),
    "dead_letters.when": ("Cuándo", "When"),
    "dead_letters.error": ("Error", "Error"),
    "dead_letters.task": ("Correo", "Email"),
    "dead_letters.action": ("Acción", "Action"),
    "dead_letters.open_task": ("Abrir el correo", "Open the email"),
    "dead_letters.reprocess_one": ("Reprocesar", "Reprocess"),
    "dead_letters.reprocess_one_label": (
        "Reprocesar el mensaje fallido {error}",
        "Reprocess the dead letter {error}",
    ),
    "dead_letters.reprocessed_at": ("reprocesado {at}", "reprocessed {at}"),
    "dead_letters.not_reprocessable": (
        "no reprocesable: el original no es un correo recibido",
        "not reprocessable: the original is not an inbound email",
    ),
    "dead_letters.no_task": (
        "sin correo registrado: lo toma el reprocesado en bloque",
        "no email recorded: bulk reprocess takes it",
    ),
    "dead_letters.none": ("Ningún mensaje fallido coincide.", "No dead letter matches."),
    "dead_letters.bulk": ("Reprocesar en bloque", "Bulk reprocess"),
    "dead_letters.bulk_help": (
        "Primero se cuenta cuántos se publicarían (sin publicar nada); después se confirma.",
        "First counts how many would be republished (publishing nothing); then you confirm.",
    ),
    "dead_letters.bulk_filter": (
        "Filtro: etapa {stage}, clase de error {error_class}; solo sin reprocesar.",
        "Filter: stage {stage}, error class {error_class}; open ones only.",
    ),
    "dead_letters.bulk_count": ("Contar (simulación)", "Count (dry run)"),
    "dead_letters.dry_run": ("Simulación", "Dry run"),
    "dead_letters.would": ("Se reprocesarían {n}", "{n} would be reprocessed"),
    "dead_letters.matched": (
        "{n} coinciden con el filtro; {skipped} se saltarían.",
        "{n} match the filter; {skipped} would be skipped.",
    ),
    "dead_letters.confirm": ("Reprocesar {n} ahora", "Reprocess {n} now"),
    "dead_letters.cancel": ("Cancelar", "Cancel"),
    "dead_letters.back": ("← Mensajes fallidos", "← Dead letters"),
    "dead_letters.bulk_done": ("{n} reprocesados.", "{n} reprocessed."),
}
