"""The pure part that decides what to do with an email: no Faust, Kafka or database here.

* ``text``: invisible-character removal, accent folding, tokens, language.
* ``faq`` (+ ``faq.yaml``): the shop's FAQ file and its topics.
* ``lexicon`` (+ ``lexicon.yaml``): the bilingual apparel and intent vocabulary.
* ``catalogue``: the catalogue in memory, product matching and the prompt excerpt.
* ``routing``: the router: one email's text → an explainable ``Decision``.
* ``safety``: the checks on a reply before it may be sent.

``python -m mailroom_responder.explain`` runs exactly this code offline.
"""
