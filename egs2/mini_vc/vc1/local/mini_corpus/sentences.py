"""Deterministic generator of short, varied English sentences.

The vocabulary and templates below were written for this project; no text
corpus is copied. Sentences are plain declaratives, questions and requests of
roughly 6-14 words, which a speech synthesiser renders in 1.5-4 seconds.

Example:
    >>> from mini_corpus.sentences import generate_sentences
    >>> len(generate_sentences(5, seed=0))
    5
"""

import random
from typing import Callable, List, Sequence, Tuple

# (singular, plural) pairs so that irregular plurals never need rules.
NOUNS: Tuple[Tuple[str, str], ...] = (
    ("apple", "apples"), ("basket", "baskets"), ("bicycle", "bicycles"),
    ("blanket", "blankets"), ("boat", "boats"), ("book", "books"),
    ("bottle", "bottles"), ("box", "boxes"), ("bridge", "bridges"),
    ("candle", "candles"), ("chair", "chairs"), ("clock", "clocks"),
    ("coat", "coats"), ("cup", "cups"), ("dog", "dogs"), ("door", "doors"),
    ("drum", "drums"), ("fence", "fences"), ("flower", "flowers"),
    ("garden", "gardens"), ("guitar", "guitars"), ("hammer", "hammers"),
    ("horse", "horses"), ("kettle", "kettles"), ("key", "keys"),
    ("ladder", "ladders"), ("lamp", "lamps"), ("letter", "letters"),
    ("map", "maps"), ("mirror", "mirrors"), ("notebook", "notebooks"),
    ("orange", "oranges"), ("painting", "paintings"), ("pencil", "pencils"),
    ("piano", "pianos"), ("pillow", "pillows"), ("rabbit", "rabbits"),
    ("radio", "radios"), ("ribbon", "ribbons"), ("sandwich", "sandwiches"),
    ("shoe", "shoes"), ("suitcase", "suitcases"), ("table", "tables"),
    ("ticket", "tickets"), ("tomato", "tomatoes"), ("towel", "towels"),
    ("train", "trains"), ("umbrella", "umbrellas"), ("wagon", "wagons"),
    ("window", "windows"),
)

ADJECTIVES: Tuple[str, ...] = (
    "bright", "broken", "clean", "cold", "dusty", "early", "empty", "famous",
    "gentle", "golden", "green", "heavy", "large", "little", "lucky", "narrow",
    "new", "noisy", "old", "orange", "polished", "purple", "quiet", "red",
    "round", "shiny", "silver", "small", "soft", "strange", "tall", "tiny",
    "warm", "wooden", "yellow", "young",
)

# (base form, past tense) of transitive verbs.
VERBS: Tuple[Tuple[str, str], ...] = (
    ("borrow", "borrowed"), ("bring", "brought"), ("buy", "bought"),
    ("carry", "carried"), ("clean", "cleaned"), ("count", "counted"),
    ("draw", "drew"), ("find", "found"), ("fix", "fixed"), ("hide", "hid"),
    ("lift", "lifted"), ("move", "moved"), ("open", "opened"),
    ("paint", "painted"), ("pack", "packed"), ("push", "pushed"),
    ("repair", "repaired"), ("sell", "sold"), ("send", "sent"),
    ("share", "shared"), ("show", "showed"), ("wash", "washed"),
    ("watch", "watched"), ("wrap", "wrapped"),
)

# (base form, past tense) of intransitive motion verbs.
MOTIONS: Tuple[Tuple[str, str], ...] = (
    ("walk", "walked"), ("run", "ran"), ("drive", "drove"), ("ride", "rode"),
    ("travel", "travelled"), ("hurry", "hurried"), ("wander", "wandered"),
    ("return", "returned"), ("swim", "swam"), ("climb", "climbed"),
)

PLACES: Tuple[str, ...] = (
    "bakery", "beach", "castle", "harbor", "hospital", "kitchen", "library",
    "market", "museum", "office", "park", "post office", "railway station",
    "river", "school", "stadium", "theater", "village", "farm", "airport",
    "island", "mountain", "forest", "garage", "hotel",
)

# Time phrases that fit a past-tense verb; FUTURE_TIMES fit "will ...".
PAST_TIMES: Tuple[str, ...] = (
    "this morning", "last night", "yesterday", "on Monday", "on Tuesday",
    "on Wednesday", "on Thursday", "on Friday", "on Saturday", "on Sunday",
    "in the spring", "in the autumn", "after lunch", "before dinner",
    "at midnight", "last summer", "at noon", "last winter",
)
FUTURE_TIMES: Tuple[str, ...] = (
    "tomorrow", "next week", "next month", "on Monday", "on Friday",
    "this evening", "after lunch", "before dinner", "at noon", "next summer",
    "in the spring", "tonight",
)

NAMES: Tuple[str, ...] = (
    "Anna", "Ben", "Clara", "David", "Emma", "Frank", "Grace", "Henry",
    "Irene", "Jack", "Kate", "Leo", "Maria", "Nick", "Olivia", "Peter",
    "Rosa", "Sam", "Tina", "Victor",
)

RELATIVES: Tuple[str, ...] = (
    "brother", "sister", "uncle", "aunt", "cousin", "neighbor", "teacher",
    "friend", "grandmother", "grandfather",
)

PREPOSITIONS: Tuple[str, ...] = ("to", "near", "behind", "past", "around", "toward")

_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_to_words(n: int) -> str:
    """Spell out an integer in ``0..99`` (e.g. ``42 -> "forty two"``).

    Numbers are written as words so that the synthesiser never has to guess
    how to read digits.
    """
    if not 0 <= n < 100:
        raise ValueError(f"only 0..99 are supported, got {n}")
    if n < 20:
        return _UNITS[n]
    tens, units = divmod(n, 10)
    return _TENS[tens] if units == 0 else f"{_TENS[tens]} {_UNITS[units]}"


def _count(rng: random.Random) -> str:
    # Two or more, so that the following noun is always plural.
    return number_to_words(rng.randint(2, 99))


def _noun_phrase(rng: random.Random) -> str:
    noun = rng.choice(NOUNS)[0]
    return f"the {rng.choice(ADJECTIVES)} {noun}" if rng.random() < 0.6 else f"the {noun}"


def _clock(rng: random.Random) -> str:
    hour = number_to_words(rng.randint(1, 12))
    return rng.choice((f"{hour} o'clock", f"half past {hour}", f"a quarter to {hour}"))


# Each template turns an RNG into a sentence. Keeping them as small functions
# (rather than format strings) lets a template make its own optional choices.
_Template = Callable[[random.Random], str]


def _t_subject_did(rng: random.Random) -> str:
    verb = rng.choice(VERBS)[1]
    return f"{rng.choice(NAMES)} {verb} {_noun_phrase(rng)} {rng.choice(PAST_TIMES)}."


def _t_motion(rng: random.Random) -> str:
    subject = rng.choice((rng.choice(NAMES), f"My {rng.choice(RELATIVES)}"))
    motion = rng.choice(MOTIONS)[1]
    where = f"{rng.choice(PREPOSITIONS)} the {rng.choice(PLACES)}"
    return f"{subject} {motion} {where} {rng.choice(PAST_TIMES)}."


def _t_count(rng: random.Random) -> str:
    adjective = f"{rng.choice(ADJECTIVES)} " if rng.random() < 0.5 else ""
    return f"There are {_count(rng)} {adjective}{rng.choice(NOUNS)[1]} in the {rng.choice(PLACES)}."


def _t_question(rng: random.Random) -> str:
    return (
        f"Did {rng.choice(NAMES)} {rng.choice(VERBS)[0]} {_noun_phrase(rng)} "
        f"at the {rng.choice(PLACES)}?"
    )


def _t_request(rng: random.Random) -> str:
    return (
        f"Please {rng.choice(VERBS)[0]} {_noun_phrase(rng)} before {_clock(rng)}."
    )


def _t_future(rng: random.Random) -> str:
    subject = rng.choice(("We", "They", "I", f"My {rng.choice(RELATIVES)}"))
    return (
        f"{subject} will {rng.choice(VERBS)[0]} {_count(rng)} {rng.choice(NOUNS)[1]} "
        f"{rng.choice(FUTURE_TIMES)}."
    )


def _t_report(rng: random.Random) -> str:
    return (
        f"My {rng.choice(RELATIVES)} said that {_noun_phrase(rng)} was "
        f"{rng.choice(ADJECTIVES)}."
    )


def _t_where(rng: random.Random) -> str:
    return f"Where did you {rng.choice(VERBS)[0]} {_noun_phrase(rng)} {rng.choice(PAST_TIMES)}?"


def _t_because(rng: random.Random) -> str:
    return (
        f"{rng.choice(NAMES)} stayed at the {rng.choice(PLACES)} because "
        f"{_noun_phrase(rng)} was {rng.choice(ADJECTIVES)}."
    )


TEMPLATES: Tuple[_Template, ...] = (
    _t_subject_did, _t_motion, _t_count, _t_question, _t_request, _t_future,
    _t_report, _t_where, _t_because,
)


def word_count(sentence: str) -> int:
    """Number of whitespace-separated words in ``sentence``."""
    return len(sentence.split())


def generate_sentences(
    num: int,
    seed: int = 0,
    min_words: int = 6,
    max_words: int = 12,
    exclude: Sequence[str] = (),
) -> List[str]:
    """Generate ``num`` unique sentences deterministically.

    Args:
        num: Number of sentences to return.
        seed: Seed of the private :class:`random.Random`; the same seed always
            yields the same list.
        min_words: Shortest allowed sentence, in words.
        max_words: Longest allowed sentence, in words.
        exclude: Sentences that must not be produced (e.g. already used ones).

    Returns:
        ``num`` distinct sentences, none of them in ``exclude``.

    Raises:
        RuntimeError: If the vocabulary cannot supply enough unique sentences
            within the given length limits.
    """
    if min_words > max_words:
        raise ValueError(f"min_words ({min_words}) > max_words ({max_words})")
    rng = random.Random(seed)
    seen = set(exclude)
    out: List[str] = []
    # The space of sentences is in the millions, so collisions are rare; the
    # cap only guards against impossible length limits looping forever.
    for _ in range(max(1000, 200 * num)):
        if len(out) == num:
            break
        sentence = rng.choice(TEMPLATES)(rng)
        if sentence in seen or not min_words <= word_count(sentence) <= max_words:
            continue
        seen.add(sentence)
        out.append(sentence)
    if len(out) < num:
        raise RuntimeError(
            f"could only generate {len(out)} of {num} unique sentences with "
            f"{min_words}-{max_words} words"
        )
    return out
