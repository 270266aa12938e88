"""Subject word lists used as features by the stage-1 model.

They carry general subject knowledge into a model trained on a few hundred examples: a word the
labelled set never used ("denominator", "pharaoh", "stanza") still pulls towards its subject.
They are features with learned weights, not rules: a hit only shifts the probabilities.
"""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


MATH_WORDS = words(
    """
    add addition adding plus minus subtract subtraction subtracting times multiply multiplied
    multiplication multiplying divide divided division dividing sum total product quotient remainder
    equals equal equation equations inequality solve solving calculate calculation calculator number
    numbers digit digits odd even prime primes factor factors factorise factorize multiple multiples
    fraction fractions numerator denominator decimal decimals percent percentage percentages ratio
    ratios proportion integer integers negative positive square squared cube cubed root roots
    exponent exponents power powers algebra algebraic variable variables expression expressions
    formula graph graphs slope gradient axis coordinate coordinates geometry angle angles degrees
    triangle triangles rectangle square circle circles radius diameter circumference area perimeter
    volume polygon parallelogram trapezium trapezoid rhombus hexagon pentagon symmetry parallel
    perpendicular pythagoras pythagorean theorem trigonometry sine cosine tangent probability
    statistics mean median mode range average estimate rounding round measure measurement centimetre
    centimetres centimeter metres meter kilometre kilogram grams litre litres maths math mathematics
    arithmetic sequence pattern function functions quadratic linear hundred thousand million billion
    half halves quarter quarters third thirds double twice lcm gcd hcf protractor compass ruler
    calculus matrix vector simplify expand bar chart pie tally pi
    """
)

HISTORY_WORDS = words(
    """
    history historical historian war wars battle battles army armies soldier soldiers empire empires
    emperor emperors king kings queen queens monarch monarchy throne crown prince princess president
    presidents prime minister parliament government revolution revolutions rebellion revolt
    independence colony colonies colonial century centuries ancient medieval middle ages era dynasty
    dynasties civilisation civilization civilisations civilizations roman romans rome greek greeks
    greece egypt egyptian egyptians pharaoh pharaohs pyramid pyramids mummies mummy viking vikings
    saxon saxons norman normans tudor tudors victorian victorians aztec aztecs maya mayan inca incas
    mesopotamia castle castles knight knights crusade crusades plague pandemic invasion invaded
    conquered conquest explorer explorers discovered discovery slavery slaves slave abolition civil
    rights movement protest treaty treaties allies nazi nazis hitler churchill napoleon caesar
    cleopatra lincoln washington gandhi mandela holocaust cold world wwi wwii ww1 ww2 depression
    industrial factory reformation renaissance magna carta feudal peasants lords ruler rulers reign
    reigned invented inventor founded founding settlers pilgrims apartheid suffragettes suffrage
    vote voting election elected assassinated assassination monument museum archaeology
    archaeologist artefact artifact dates timeline historic ancestors gladiator gladiators legion
    colosseum spartan spartans samurai sultan tsar kaiser trench trenches evacuee evacuees blitz
    rationing armada monastery monks abbey pilgrimage voyage columbus colonisation colonization celts
    druids stonehenge neolithic prehistoric anglo wessex mercia normandy elizabethan georgian
    stuart stuarts edwardian suffragette emancipation segregation hieroglyphics hieroglyphs papyrus
    sphinx tomb tombs ruins centurion senate republic dictator warrior warriors
    """
)

ENGLISH_WORDS = words(
    """
    english grammar spelling spell spelt spelled wrote punctuation comma commas apostrophe semicolon colon
    sentence sentences paragraph paragraphs essay essays story stories write writing written writer
    author poem poems poetry poet rhyme rhymes rhyming stanza verse novel novels book books chapter
    chapters character characters plot setting theme themes narrator narrative fiction nonfiction
    read reading reader word words vocabulary meaning means mean definition define synonym synonyms
    antonym antonyms opposite noun nouns verb verbs adjective adjectives adverb adverbs pronoun
    pronouns preposition prepositions conjunction conjunctions tense tenses past present future
    plural singular prefix suffix syllable syllables metaphor metaphors simile similes alliteration
    onomatopoeia personification hyperbole idiom idioms imagery foreshadowing irony tone mood
    persuasive descriptive introduction conclusion draft proofread pronounce pronunciation
    dictionary thesaurus literature shakespeare sonnet haiku limerick dialogue quote quotation
    summary summarise summarize report letter clause phrase phrases capital letters handwriting
    language spelt spellings homophone homophones rhyming autobiography biography playwright
    adjectives determiner determiners exclamation apostrophes contraction contractions
    """
)

SMALL_TALK_WORDS = words(
    """
    hello hi hey bye goodbye thanks thank favourite favorite colour color game games play playing
    joke jokes funny weather minecraft fortnite roblox pizza dinner lunch food robot name old sing
    song dog cat pet bored football soccer youtube tiktok movie movies cartoon lol
    """
)

WELLBEING_WORDS = words(
    """
    afraid frightened worried anxious upset sad crying cry cried lonely alone unsafe unhappy hurt
    hurts hurting bullied bully bullies bullying stranger strangers nasty hit hitting threatened
    nightmares
    """
)

LEXICONS: dict[str, frozenset[str]] = {
    "math": MATH_WORDS,
    "history": HISTORY_WORDS,
    "english": ENGLISH_WORDS,
    "small_talk": SMALL_TALK_WORDS,
    "wellbeing": WELLBEING_WORDS,
}
