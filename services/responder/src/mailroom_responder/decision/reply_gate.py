"""The reply gate: may this LLM answer go to the customer as it is? Pure.

Every LLM answer passes here before it is sent, and ``python -m
mailroom_responder.check_reply`` runs the same checks offline. An answer is blocked when

* it is not in the customer's language (``wrong_language``);
* it shows the machinery: our instructions, the catalogue excerpt, an AI disclaimer,
  an internal note, raw data, or text an injection in the mail asked for (``leak``);
* it speaks to or about anyone but the writer: another name in the greeting, another
  person's email address or phone, other customers (``other_recipient``);
* a price, size, colour or stock claim does not match the live catalogue for the product
  it is said of (``wrong_price``, ``invented_variant``, ``wrong_stock``: claims.py);
* it makes a promise (discount, refund, gift, free shipping, delivery or restock date,
  reservation, "I'll check and get back to you"), even without a figure (``promise``);
* it states a figure or a policy the FAQ, the catalogue and the mail do not hold
  (``invented_figure``, ``invented_policy``).

The phrases live in ``reply_gate.yaml`` (the shop's to edit). Each reason is a short
text a regeneration prompt can quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from mailroom_responder.decision.catalogue import Catalogue
from mailroom_responder.decision.claims import product_claims
from mailroom_responder.decision.datafiles import read_yaml_mapping
from mailroom_responder.decision.document import read_document
from mailroom_responder.decision.faq import FaqBook
from mailroom_responder.decision.grounding import known_stems, unsupported_assertions
from mailroom_responder.decision.languages import other_language
from mailroom_responder.decision.lexicon import stem
from mailroom_responder.decision.number_words import spoken_prices
from mailroom_responder.decision.price_claims import differences, totals
from mailroom_responder.decision.reply_words import spoken_thousands
from mailroom_responder.decision.safety import leaks_instructions, unsupported_figures
from mailroom_responder.decision.text import detect_language, fold, tokens

__all__ = ["GateRules", "Verdict", "check_reply", "default_rules", "load_rules"]

_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|\n+")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE_RE = re.compile(r"\+?\d[\d\s-]{7,}\d")
_GREETING_RE = re.compile(
    r"^\W*(?:hola|hi|hello|hey|dear|querid[oa]|estimad[oa]"
    r"|buen(?:os|as)? (?:dias|tardes|noches|dia)|good (?:morning|afternoon|evening))\W+([a-zñ]+)\b"
)
_INJECTION_RE = re.compile(
    r"\b(ignor\w*|system override|assistant|asistente|instrucciones|instructions|prompt|"
    r"respond\w* con|responde|reply (only )?with|the word|la palabra|end your reply|"
    r"\b(?:ai|bot|gpt|llm|ia)\s*:|include the (code|text|sentence|phrase)|"
    r"decime que|deci que|system|empez\w* (tu|la) respuesta|comenz\w* (tu|la) respuesta|"
    r"start (your|the) (reply|answer|response)|begin (your|the) (reply|answer|response)|"
    r"end (your|the) (answer|response|message)|note for the (ai|bot|assistant)|"
    r"the (ai|bot) reading this|nota para (la ia|el bot)|"
    r"si (sos|eres) (un|una) (bot|ia|ai|robot)|if you (are|re) (a|an) (bot|ai|robot)|"
    r"termin\w* (tu|la|el) (respuesta|mensaje)|agreg\w*|inclu\w*|"
    r"say (that|it)|write|escrib\w*|agreg\w* (la frase|el texto)|add the (sentence|text))\b"
)
_QUOTED_RE = re.compile(r"[\"'«“‘]([^\"'»”’]{6,})[\"'»”’]")
_CODE_RE = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9-]{5,}\b")
_SHINGLE = 4
_SHOUTED_RE = re.compile(r"\b[A-Z]{4,}\b")
_CLAUSE_CUT = re.compile(r",|;|:|\bpero\b|\bbut\b|\baunque\b|\bthough\b")
_CONDITION = re.compile(r"\b(si no|if not|if it doesn t|if they don t|if it does not)\b")
_OTHERS_RE = re.compile(
    r"\b(otr[oa]s? client\w*|other customers?|another customer|tu amig[oa]|your friend|"
    r"que pregunto lo mismo|who asked (the same|about)|asked the same|pregunto por el mismo|"
    r"le comentamos|le dijimos|we told|reenvio|forwarding|i ve (also )?copied|copied in|"
    r"en copia|cc|as i told|as we told|como le dije|como le dijimos|como le comente|"
    r"your colleague|tu compañer[oa]|tu colega|tambien compro|also (bought|ordered)|"
    r"desde esta (misma )?direccion|from this (same )?address|same address)\b"
)
_RELATIVE_RE = re.compile(
    r"\b(sister|brother|friend|mum|mom|mother|dad|father|wife|husband|partner|daughter|son|"
    r"colleague|boss|girlfriend|boyfriend|hermana|hermano|amiga|amigo|mama|madre|papa|padre|"
    r"novia|novio|esposa|esposo|marido|mujer|hija|hijo|prima|primo|tia|tio|sobrina|sobrino|"
    r"abuela|abuelo|compañera|compañero|jefa|jefe|suegra|suegro|cuñada|cuñado)\s*,?\s+([a-zñ]{3,})\b"
)
_PS_RE = re.compile(r"(?:^|\s)(?:p\.?\s?s\.?|p\.?\s?d\.?)\s*[:,-]", re.IGNORECASE)
_NOT_AFTER = re.compile(
    r"\W*(no|not|we don t|we do not|todavia no|aun no) (enviamos|hacemos|mandamos|llegamos|"
    r"tenemos|ship|deliver|send|do|have|offer|ofrecemos|vendemos|sell)\b"
)
_COMMON_WORDS = frozenset(
    {"para", "como", "todo", "todos", "todas", "esta", "este", "estos", "tambien", "pero"}
    | {"that", "this", "with", "your", "from", "have", "also", "they", "them", "just"}
    | {"hola", "gracias", "thanks", "nuestro", "nuestra", "nuestros", "tenemos", "hacemos"}
)
_GREETING_WORDS = frozenset(
    {"hola", "hi", "hello", "hey", "dear", "buenas", "buenos", "buen", "good", "que", "como"}
    | {"we", "i", "thanks", "thank", "there", "again", "all", "everyone", "yes", "no", "sorry"}
    | {"te", "les", "nos", "gracias", "si", "perdon", "disculpa", "otra", "todos", "todas"}
)


@dataclass(frozen=True)
class GateRules:
    version: str
    promises: dict[str, tuple[re.Pattern[str], ...]]
    negation: re.Pattern[str]
    handoff: re.Pattern[str]
    leaks: tuple[re.Pattern[str], ...]
    policy_terms: tuple[re.Pattern[str], ...]
    plain_words: frozenset[str] = frozenset()  # stems


@dataclass(frozen=True, slots=True)
class Verdict:
    reasons: tuple[str, ...] = ()

    @property
    def send(self) -> bool:
        return not self.reasons

    @property
    def verdict(self) -> str:
        return "send" if self.send else "block"


@dataclass(frozen=True, slots=True)
class Mail:
    """The customer's side of the case: what they wrote and who they are."""

    subject: str
    body: str  # new text, signature included (a name there is theirs)
    language: str
    sender_name: str = ""
    extra: tuple[str, ...] = field(default=())  # other trusted text: earlier turns

    @property
    def text(self) -> str:
        return "\n".join((self.subject, self.body, self.sender_name, *self.extra))


def _compile(patterns: object, where: str) -> tuple[re.Pattern[str], ...]:
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ValueError(f"reply gate: {where} must be a list of strings")
    try:
        return tuple(re.compile(p) for p in patterns)
    except re.error as exc:
        raise ValueError(f"reply gate: {where}: bad pattern ({exc})") from exc


def parse_rules(data: dict[str, object]) -> GateRules:
    promises = data.get("promises")
    if not isinstance(promises, dict) or not promises:
        raise ValueError("reply gate: promises must be a mapping of kind → patterns")
    negations = _compile(data.get("negations"), "negations")
    handoffs = _compile(data.get("handoffs", []), "handoffs")
    plain = data.get("plain_words", [])
    if not isinstance(plain, list) or not all(isinstance(w, str) for w in plain):
        raise ValueError("reply gate: plain_words must be a list of words")
    return GateRules(
        version=str(data.get("version", "")),
        promises={str(k): _compile(v, f"promises.{k}") for k, v in promises.items()},
        negation=re.compile("|".join(p.pattern for p in negations)),
        handoff=re.compile("|".join(p.pattern for p in handoffs) or r"(?!)"),
        leaks=_compile(data.get("leaks"), "leaks"),
        policy_terms=_compile(data.get("policy_terms"), "policy_terms"),
        plain_words=frozenset(stem(t) for w in plain for t in tokens(w)),
    )


def load_rules(path: Path | None = None) -> GateRules:
    return parse_rules(read_yaml_mapping("reply_gate.yaml", path, "reply gate"))


@lru_cache(maxsize=1)
def default_rules() -> GateRules:
    """The packaged rules, read once on first use (never at import time)."""
    return load_rules()


def faq_text(faq: FaqBook) -> str:
    """Everything the shop's FAQ file says, folded: what a reply may repeat."""
    texts = [t for e in faq.entries for t in e.answers.values()]
    texts += [t for group in (faq.templates, faq.catalogue_templates) for t in _values(group)]
    return fold("\n".join(texts))


def _values(group: dict[str, dict[str, str]]) -> list[str]:
    return [t for texts in group.values() for t in texts.values()]


def _sentences(reply: str) -> list[str]:
    flat = reply.replace("'", " ").replace("’", " ")  # "can't" → "can t", as the rules write it
    return [s for s in (fold(p).strip() for p in _SENTENCE_RE.split(flat)) if s]


def _said_by_faq(sentence: str, faq: str) -> bool:
    """The FAQ holds this sentence (or its clause) nearly word for word."""
    words = tokens(sentence)
    if len(words) < 4:
        return False
    faq_words = " ".join(tokens(faq))
    grams = [" ".join(words[i : i + 4]) for i in range(len(words) - 3)]
    return sum(g in faq_words for g in grams) >= max(1, len(grams) * 2 // 3)


def _language(reply: str, mail: Mail, catalogue: Catalogue) -> list[str]:
    want = "en" if mail.language == "en" else "es"
    said = detect_language(reply)
    if said == want:
        said = other_language(reply, want, _name_words(catalogue)) or said
    return [] if said == want else [f"wrong_language: written in {said}, the customer wrote {want}"]


def _name_words(catalogue: Catalogue) -> frozenset[str]:
    return frozenset(w for p in catalogue.products for w in tokens(p.name))


def _leaks(
    reply: str, sentences: list[str], mail: Mail, rules: GateRules, instructions: str
) -> list[str]:
    out: list[str] = []
    for s in sentences:
        for p in rules.leaks:
            if m := p.search(s):
                out.append(f"leak: says '{m.group(0)}'")
                break
    if instructions and leaks_instructions(reply, instructions):
        out.append("leak: repeats our instructions")
    if re.search(r"[{}\[\]<>|]|\w+,\w+,\w+", reply):
        out.append("leak: raw data or markup in the reply")
    out += _injection_echo(reply, mail)
    return out[:2]


def _injection_echo(reply: str, mail: Mail) -> list[str]:
    """Text the mail told the bot to write, written."""
    said = fold(reply)
    for part in re.split(r"(?<=[.!?])\s+|\n+", mail.subject + "\n" + mail.body):
        if not _INJECTION_RE.search(fold(part)):
            continue
        for quoted in _QUOTED_RE.findall(part):
            if fold(quoted).strip(" .") in said:
                return ["leak: writes the text the mail's injection asked for"]
        for code in (*_CODE_RE.findall(part), *_SHOUTED_RE.findall(part)):
            if code.lower() in said and code in reply:
                return [f"leak: writes {code}, from the mail's injection"]
    return []


def _recipients(reply: str, sentences: list[str], mail: Mail) -> list[str]:
    out: list[str] = []
    known = set(tokens(mail.text))
    for address in _EMAIL_RE.findall(reply):
        if address.lower() not in mail.text.lower():
            out.append(f"other_recipient: names {address}")
    for phone in _PHONE_RE.findall(reply):
        if re.sub(r"\D", "", phone) not in re.sub(r"\D", "", mail.text):
            out.append("other_recipient: gives a phone number the customer did not")
    if sentences and (m := _GREETING_RE.match(sentences[0])):
        name = m.group(1)
        if name not in known and name not in _GREETING_WORDS and _looks_like_name(reply, name):
            out.append(f"other_recipient: greets {name.title()}, who did not write")
        elif name in _spoken_of(mail) and name not in set(tokens(mail.sender_name)):
            out.append(f"other_recipient: greets {name.title()}, whom the mail speaks of")
    for s in sentences:
        if m := _OTHERS_RE.search(s):
            out.append(f"other_recipient: talks of someone else ('{m.group(0)}')")
            break
    if _PS_RE.search(reply):
        out.append("other_recipient: a postscript")
    return out[:2]


def _spoken_of(mail: Mail) -> set[str]:
    """Names the customer writes of, not as themselves ("my sister Sarah", "mi hija Sofi")."""
    return {m.group(2) for m in _RELATIVE_RE.finditer(fold(mail.subject + "\n" + mail.body))}


def _looks_like_name(reply: str, folded_name: str) -> bool:
    """The greeting's word is written with a capital in the reply (a name, not "hola qué tal")."""
    return any(fold(w) == folded_name and w[:1].isupper() for w in re.findall(r"\w+", reply))


def _promises(own: list[str], rules: GateRules) -> list[str]:
    """Commitments in the reply's own sentences (not the FAQ's words, not a handover)."""
    out: list[str] = []
    for s in own:
        for kind, patterns in rules.promises.items():
            hit = next((m for p in patterns if (m := p.search(s))), None)
            if hit is None:
                continue
            # "no tenemos descuentos" is no promise; "si no te queda, te devolvemos…" is.
            before = _CONDITION.sub(" ", s[max(0, hit.start() - 30) : hit.start()])
            before = _CLAUSE_CUT.split(before)[-1] + hit.group(0)
            if rules.negation.search(before):
                continue
            out.append(f"promise: {kind} ('{hit.group(0).strip()}')")
            break
    return out[:2]


def _faq_says(pattern: re.Pattern[str], sentence: str, hit: re.Match[str], faq: str) -> bool:
    """The FAQ says this of the same thing: one of its sentences matches the policy term
    too and shares a word with the reply's sentence ("el primer cambio es gratis" against
    "el primer cambio es sin cargo"; not "ajustes de ruedo sin cargo")."""
    own = {w for w in tokens(sentence[: hit.start()] + " " + sentence[hit.end() :]) if len(w) > 3}
    own -= _COMMON_WORDS
    for faq_sentence in _SENTENCE_RE.split(faq):
        if pattern.search(faq_sentence) and own & set(tokens(faq_sentence)):
            return True
    return False


def _policies(own: list[str], rules: GateRules, faq: str) -> list[str]:
    out: list[str] = []
    for s in own:
        for p in rules.policy_terms:
            m = p.search(s)
            if m is None or _faq_says(p, s, m, faq):
                continue
            if rules.negation.search(s[max(0, m.start() - 40) : m.start()]):
                continue
            if _NOT_AFTER.match(s[m.end() :]):  # "al exterior no enviamos"
                continue
            out.append(f"invented_policy: '{m.group(0)}' is not in the FAQ")
            break
    return out[:2]


def check_reply(
    reply: str,
    mail: Mail,
    *,
    catalogue: Catalogue,
    faq: FaqBook,
    context: str = "",
    instructions: str = "",
    rules: GateRules | None = None,
) -> Verdict:
    """Every reason ``reply`` may not be sent; none means send it.

    ``context`` is the trusted data the LLM was given (the catalogue excerpt): figures
    in the reply must come from it, the FAQ, the catalogue's products or the mail.
    """
    rules = rules or default_rules()
    if not reply.strip():
        return Verdict(("empty_reply",))
    reply = _figures(reply)  # "$32.9k", "treinta mil": read as the figures they are
    mail = replace(
        mail,
        subject=_figures(mail.subject),
        body=_figures(mail.body),
        extra=tuple(_figures(t) for t in mail.extra),
    )
    sentences = _sentences(reply)
    faq_said = faq_text(faq)
    reasons: list[str] = []
    reasons += _language(reply, mail, catalogue)
    reasons += _leaks(reply, sentences, mail, rules, instructions)
    reasons += _recipients(reply, sentences, mail)
    reasons += [f"{c.kind}: {c.detail}" for c in product_claims(reply, catalogue, mail.text)]
    # The reply's own sentences: not the FAQ's words, not a handover to a person.
    own = [s for s in sentences if not (_said_by_faq(s, faq_said) or rules.handoff.search(s))]
    reasons += _promises(own, rules)
    reasons += _policies(own, rules, faq_said)
    known = known_stems(catalogue, faq_said, mail.text, context)
    reasons += unsupported_assertions(own, known, rules.plain_words)
    trusted = "\n".join((context, faq_said, mail.text, _catalogue_figures(catalogue, reply)))
    invented = unsupported_figures(reply, trusted)
    if invented:
        reasons.append("invented_figure: " + ", ".join(dict.fromkeys(invented[:4])))
    return Verdict(tuple(dict.fromkeys(reasons)))


def _figures(text: str) -> str:
    return spoken_prices(spoken_thousands(text))


def _catalogue_figures(catalogue: Catalogue, reply: str) -> str:
    """Prices, sizes and stock of the products the reply names (their own figures)."""
    found = catalogue.find(read_document("", reply), fuzzy=False)
    named = [m.product for m in found.products]
    sums = " ".join(str(t) for t in totals(named) | differences(named))
    return (
        sums
        + "\n"
        + "\n".join(
            f"{v.price} talle {v.size} stock {v.stock}"
            for m in found.products
            for v in m.product.variants
        )
    )
