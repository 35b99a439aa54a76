"""The built-in mentor: a reflective answer written from templates and the person's facts.

It needs no network and no key, so a fresh checkout has a working mentor; every reply says
it comes from the built-in writer. The same inputs give the same words: variants are chosen
by a hash of the inputs (`seed` carries what should vary, such as the day).
"""

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from selflink_core.mentor.facts import ChartFacts

MODES = ("chat", "daily", "natal", "match")
LANGUAGES = ("en", "es", "fr", "de", "pt")
"""Languages the mentor answers in (BCP 47 primary tags); docs/mentor.md lists them."""

CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Phrases:
    label: str
    hello: str
    hello_anonymous: str
    sun: str
    moon: str
    ascendant: str
    aspect: str
    element: str
    life_path: str
    personal_year: str
    no_chart: str
    modes: dict[str, str]
    topics: dict[str, str]
    match: str
    questions: tuple[str, ...]


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        label="(Built-in mentor: a reflection written from templates, not an AI model.)",
        hello="{name}, thank you for bringing this here.",
        hello_anonymous="Thank you for bringing this here.",
        sun="Your Sun in {sign} speaks of how you shine when you feel at home in yourself.",
        moon="Your Moon in {sign} hints at what helps you feel safe.",
        ascendant="With {sign} rising, people often meet that side of you first.",
        aspect="The {first}-{second} {aspect} in your chart can be read as a conversation "
        "between two needs.",
        element="Much of your chart sits in {element}, a lens you may recognise.",
        life_path="Life path {number} invites you to notice what keeps returning.",
        personal_year="This is a personal year {number}: a season with its own pace.",
        no_chart="Add your birth data and I can reflect with your chart as well.",
        modes={
            "chat": "Let us look at it together, gently and without hurry.",
            "daily": "For today, a small note to carry with you.",
            "natal": "Here is a reading of your natal chart as a mirror, not a verdict.",
            "match": "Here is a reflection on this connection.",
        },
        topics={
            "love": "In matters of the heart, what you give and what you need both deserve room.",
            "work": "At work, notice which tasks give you energy and which drain it.",
            "family": "Family ties carry old patterns; you can choose which ones to keep.",
            "money": "With money, clarity often matters more than speed.",
            "health": "Your body's signals are worth listening to with kindness.",
            "growth": "Change tends to arrive in small, repeated choices.",
            "general": "Whatever is on your mind, it is worth a patient look.",
        },
        match="You and {name} share a compatibility of {total:.0f} out of 100; {reason}",
        questions=(
            "What would feel like one small, kind step today?",
            "What do you already know about this that you have not said aloud?",
            "Which part of this is yours to carry, and which is not?",
        ),
    ),
    "es": Phrases(
        label="(Mentor integrado: una reflexión escrita con plantillas, no un modelo de IA.)",
        hello="{name}, gracias por traer esto aquí.",
        hello_anonymous="Gracias por traer esto aquí.",
        sun="Tu Sol en {sign} habla de cómo brillas cuando te sientes en casa contigo.",
        moon="Tu Luna en {sign} sugiere lo que te ayuda a sentirte a salvo.",
        ascendant="Con ascendente {sign}, la gente suele conocer primero ese lado tuyo.",
        aspect="El {aspect} {first}-{second} de tu carta es como un diálogo entre dos necesidades.",
        element="Gran parte de tu carta está en {element}, una mirada que quizá reconozcas.",
        life_path="El camino de vida {number} te invita a notar lo que vuelve una y otra vez.",
        personal_year="Este es un año personal {number}: una estación con su propio ritmo.",
        no_chart="Añade tus datos de nacimiento y podré reflexionar también con tu carta.",
        modes={
            "chat": "Mirémoslo juntos, con calma.",
            "daily": "Para hoy, una pequeña nota para llevar contigo.",
            "natal": "Aquí tienes una lectura de tu carta natal como espejo, no como veredicto.",
            "match": "Aquí tienes una reflexión sobre este vínculo.",
        },
        topics={
            "love": "En el amor, lo que das y lo que necesitas merecen espacio.",
            "work": "En el trabajo, observa qué tareas te dan energía y cuáles te la quitan.",
            "family": "Los lazos familiares traen viejos patrones; puedes elegir cuáles guardar.",
            "money": "Con el dinero, la claridad suele importar más que la prisa.",
            "health": "Las señales de tu cuerpo merecen una escucha amable.",
            "growth": "El cambio suele llegar en pequeñas decisiones repetidas.",
            "general": "Sea lo que sea, merece una mirada paciente.",
        },
        match="Tú y {name} tenéis una compatibilidad de {total:.0f} sobre 100; {reason}",
        questions=(
            "¿Qué pequeño paso amable podrías dar hoy?",
            "¿Qué sabes ya de esto que aún no has dicho en voz alta?",
            "¿Qué parte de esto te toca cargar y cuál no?",
        ),
    ),
    "fr": Phrases(
        label="(Mentor intégré : une réflexion écrite à partir de modèles, pas une IA.)",
        hello="{name}, merci de partager cela ici.",
        hello_anonymous="Merci de partager cela ici.",
        sun="Ton Soleil en {sign} parle de ta façon de rayonner quand tu te sens chez toi.",
        moon="Ta Lune en {sign} suggère ce qui t'aide à te sentir en sécurité.",
        ascendant="Avec un ascendant {sign}, on rencontre souvent ce côté de toi en premier.",
        aspect="Le {aspect} {first}-{second} de ton thème ressemble à un dialogue entre deux "
        "besoins.",
        element="Une grande partie de ton thème est en {element}, un regard que tu reconnais "
        "peut-être.",
        life_path="Le chemin de vie {number} t'invite à remarquer ce qui revient.",
        personal_year="C'est une année personnelle {number} : une saison avec son propre rythme.",
        no_chart="Ajoute tes données de naissance et je pourrai aussi m'appuyer sur ton thème.",
        modes={
            "chat": "Regardons cela ensemble, doucement.",
            "daily": "Pour aujourd'hui, une petite note à garder avec toi.",
            "natal": "Voici une lecture de ton thème natal comme un miroir, pas un verdict.",
            "match": "Voici une réflexion sur ce lien.",
        },
        topics={
            "love": "En amour, ce que tu donnes et ce dont tu as besoin méritent de la place.",
            "work": "Au travail, observe ce qui te donne de l'énergie et ce qui t'en prend.",
            "family": "Les liens familiaux portent d'anciens schémas ; tu peux choisir lesquels "
            "garder.",
            "money": "Avec l'argent, la clarté compte souvent plus que la vitesse.",
            "health": "Les signaux de ton corps méritent une écoute bienveillante.",
            "growth": "Le changement arrive souvent par de petits choix répétés.",
            "general": "Quoi qu'il en soit, cela mérite un regard patient.",
        },
        match="Toi et {name} avez une compatibilité de {total:.0f} sur 100 ; {reason}",
        questions=(
            "Quel petit pas bienveillant pourrais-tu faire aujourd'hui ?",
            "Que sais-tu déjà de cela sans l'avoir dit à voix haute ?",
            "Quelle part de cela t'appartient, et laquelle non ?",
        ),
    ),
    "de": Phrases(
        label="(Eingebauter Mentor: eine Reflexion aus Vorlagen, kein KI-Modell.)",
        hello="{name}, danke, dass du das hierher bringst.",
        hello_anonymous="Danke, dass du das hierher bringst.",
        sun="Deine Sonne in {sign} erzählt, wie du strahlst, wenn du bei dir bist.",
        moon="Dein Mond in {sign} deutet an, was dir Sicherheit gibt.",
        ascendant="Mit Aszendent {sign} begegnen dir andere oft zuerst von dieser Seite.",
        aspect="Das {aspect} {first}-{second} in deinem Horoskop ist wie ein Gespräch zweier "
        "Bedürfnisse.",
        element="Vieles in deinem Horoskop steht im Element {element}.",
        life_path="Lebenszahl {number} lädt dich ein zu bemerken, was wiederkehrt.",
        personal_year="Dies ist ein persönliches Jahr {number}: eine Zeit mit eigenem Tempo.",
        no_chart="Füge deine Geburtsdaten hinzu, dann beziehe ich auch dein Horoskop ein.",
        modes={
            "chat": "Schauen wir es uns gemeinsam an, in Ruhe.",
            "daily": "Für heute eine kleine Notiz zum Mitnehmen.",
            "natal": "Hier ist eine Deutung deines Geburtshoroskops als Spiegel, nicht als Urteil.",
            "match": "Hier ist eine Reflexion über diese Verbindung.",
        },
        topics={
            "love": "In der Liebe verdienen beide Raum: was du gibst und was du brauchst.",
            "work": "Bei der Arbeit: Was gibt dir Energie, was nimmt sie dir?",
            "family": "Familienbande tragen alte Muster; du darfst wählen, welche du behältst.",
            "money": "Beim Geld zählt Klarheit oft mehr als Tempo.",
            "health": "Die Signale deines Körpers verdienen freundliches Zuhören.",
            "growth": "Veränderung kommt oft in kleinen, wiederholten Entscheidungen.",
            "general": "Was auch immer dich beschäftigt, es verdient einen geduldigen Blick.",
        },
        match="Du und {name} habt eine Kompatibilität von {total:.0f} von 100; {reason}",
        questions=(
            "Welcher kleine, freundliche Schritt wäre heute möglich?",
            "Was weißt du darüber schon, ohne es ausgesprochen zu haben?",
            "Welcher Teil davon ist deiner, welcher nicht?",
        ),
    ),
    "pt": Phrases(
        label="(Mentor integrado: uma reflexão escrita com modelos de texto, não uma IA.)",
        hello="{name}, obrigado por trazer isto aqui.",
        hello_anonymous="Obrigado por trazer isto aqui.",
        sun="O teu Sol em {sign} fala de como brilhas quando te sentes em casa contigo.",
        moon="A tua Lua em {sign} sugere o que te ajuda a sentir segurança.",
        ascendant="Com ascendente {sign}, as pessoas conhecem muitas vezes esse lado primeiro.",
        aspect="A {aspect} {first}-{second} do teu mapa é como um diálogo entre duas necessidades.",
        element="Grande parte do teu mapa está em {element}, um olhar que talvez reconheças.",
        life_path="O caminho de vida {number} convida-te a notar o que volta sempre.",
        personal_year="Este é um ano pessoal {number}: uma estação com o seu próprio ritmo.",
        no_chart="Acrescenta os teus dados de nascimento e poderei refletir com o teu mapa.",
        modes={
            "chat": "Vamos olhar para isto juntos, com calma.",
            "daily": "Para hoje, uma pequena nota para levares contigo.",
            "natal": "Eis uma leitura do teu mapa natal como espelho, não como veredito.",
            "match": "Eis uma reflexão sobre esta ligação.",
        },
        topics={
            "love": "No amor, o que dás e o que precisas merecem espaço.",
            "work": "No trabalho, repara no que te dá energia e no que a tira.",
            "family": "Os laços de família trazem padrões antigos; podes escolher quais manter.",
            "money": "Com dinheiro, a clareza importa muitas vezes mais do que a pressa.",
            "health": "Os sinais do teu corpo merecem uma escuta gentil.",
            "growth": "A mudança chega muitas vezes em pequenas escolhas repetidas.",
            "general": "Seja o que for, merece um olhar paciente.",
        },
        match="Tu e {name} têm uma compatibilidade de {total:.0f} em 100; {reason}",
        questions=(
            "Que pequeno passo gentil poderias dar hoje?",
            "O que já sabes sobre isto e ainda não disseste em voz alta?",
            "Que parte disto é tua, e qual não é?",
        ),
    ),
}


@dataclass(frozen=True)
class MatchFacts:
    """The other person of a match, as the mentor may see them: a first name and the score."""

    first_name: str
    total: float
    reasons: tuple[str, ...] = ()


def _pick(options: Sequence[str], *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def compose_reply(
    *,
    mode: str,
    language: str,
    first_name: str,
    facts: ChartFacts,
    topic: str,
    seed: str,
    match: MatchFacts | None = None,
) -> str:
    """A reflective reply for `mode` in `language`, labelled as the built-in writer's."""
    if mode not in MODES or language not in LANGUAGES:
        msg = f"unknown mode {mode!r} or language {language!r}"
        raise ValueError(msg)
    words = PHRASES[language]
    parts = [words.hello.format(name=first_name) if first_name else words.hello_anonymous]
    parts.append(words.modes[mode])
    if mode == "match" and match is not None:
        reason = match.reasons[0] if match.reasons else ""
        parts.append(words.match.format(name=match.first_name, total=match.total, reason=reason))
    if facts.sun:
        parts.append(words.sun.format(sign=facts.sun.capitalize()))
    if facts.moon and mode in {"natal", "daily", "chat"}:
        parts.append(words.moon.format(sign=facts.moon.capitalize()))
    if facts.ascendant and mode == "natal":
        parts.append(words.ascendant.format(sign=facts.ascendant.capitalize()))
    if facts.aspects and mode in {"natal", "chat"}:
        first, aspect, second = facts.aspects[0]
        parts.append(words.aspect.format(first=first, aspect=aspect, second=second))
    if facts.element and mode == "natal":
        parts.append(words.element.format(element=facts.element))
    if facts.life_path is not None and mode in {"natal", "chat"}:
        parts.append(words.life_path.format(number=facts.life_path))
    if facts.personal_year is not None and mode == "daily":
        parts.append(words.personal_year.format(number=facts.personal_year))
    if not facts.known:
        parts.append(words.no_chart)
    parts.append(words.topics.get(topic, words.topics["general"]))
    parts.append(_pick(words.questions, mode, language, topic, seed))
    parts.append(words.label)
    return " ".join(part.strip() for part in parts if part.strip())


_PIECE = re.compile(r"\S+\s*|\s+")


def stream_pieces(text: str) -> list[str]:
    """`text` cut into stream tokens (a word and the spaces after it); they join back to it."""
    return _PIECE.findall(text)


def estimate_tokens(text: str) -> int:
    """Tokens of `text` when the provider reports none: one per four characters, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)
