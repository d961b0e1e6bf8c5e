"""Names in the roles a sentence gives people, where spaCy's small model often misses them.

The grammar around a word, not the word, is the evidence: a dialogue speaker at the start of
a line (`Anna: "Who are you?"`), the subject or object of a verb of speech ("X shouted at
Y"), a relative or a job title before a name ("my kid X", "songwriter X Y"), a name asked
for ("last name? X", "called X"), a middle initial between two capitalised words, and a
capitalised word that opens a sentence about someone ("X is from ...", "X began writing").
Capitalised function words and the usual label words ("Note:", "Style:", "The ...") never
count. Scores follow the strength of the cue: the sentence-subject shape is weak (0.4:
policies that redact everything), the others are at most 0.6, under the 0.7 that strict
policies ask of names, so creative prompts ("a sign that said Welcome") are left alone there.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern

from proxy.detectors.recognizers.base import ClassPatternRecognizer

_WORD = r"\p{Lu}[\p{Ll}'’-]+"
_NAME = rf"{_WORD}(?:[ \t]+{_WORD}){{0,2}}"
# Capitalised words that open sentences and labels but are not names.
_STOP = (
    r"(?!(?:The|A|An|This|That|These|Those|It|He|She|They|We|You|I|There|Here|What|Who|Whom|"
    r"Why|How|When|Where|Which|Whose|My|Your|His|Her|Our|Their|Its|Everyone|Everybody|Someone|"
    r"Somebody|Nobody|Nothing|Something|Everything|One|Each|Every|All|Some|Many|Most|No|Yes|"
    r"Not|And|But|Or|So|If|Then|Now|Today|Tonight|Yesterday|Tomorrow|Well|Oh|Please|Sorry|"
    r"Thanks|Hello|Hi|Hey|Okay|Ok|Dear|Note|Notes|Title|Style|Prompt|Caption|Text|Subject|"
    r"Scene|Setting|Background|Mood|Lighting|Camera|Colou?rs?|Medium|Format|Size|Question|"
    r"Answer|User|Bot|Assistant|System|Human|Input|Output|Example|Description|Negative|Theme|"
    r"Location|Time|Date|Name|Address|Phone|Email|Website|Genre|Warning|Tip|Step|Chapter|"
    r"Part|Sir|Madam|Mom|Mum|Dad|God|Santa|Everyone|Anyone|Nobody|Mine|Also|Just|Maybe)\b)"
)
_SPEECH = (
    r"said|says|asked|asks|shouted|shouts|replied|replies|yelled|whispered|told|tells|"
    r"exclaimed|answered|screamed|cried|muttered|called out|added"
)
_KIN = (
    r"kid|son|daughter|child|wife|husband|partner|brother|sister|mother|father|mom|mum|dad|"
    r"friend|boss|uncle|aunt|cousin|grandmother|grandfather|grandma|grandpa|grandson|"
    r"granddaughter|neighbou?r|colleague|coworker|teacher|boyfriend|girlfriend|fianc[eé]e?|"
    r"nephew|niece|stepson|stepdaughter|roommate|manager|assistant"
)
_ROLE = (
    r"songwriter|singer|producer|director|actor|actress|author|writer|novelist|poet|painter|"
    r"composer|musician|rapper|drummer|guitarist|journalist|reporter|professor|senator|"
    r"congressman|congresswoman|president|minister|coach|detective|lawyer|attorney|judge|"
    r"photographer|designer|architect|ceo|founder|chairman|chairwoman|spokesman|spokeswoman|"
    r"spokesperson|officer|agent|nurse|surgeon|physician|dr|doctor"
)
_SUBJECT_VERBS = (
    r"is|was|has|had|began|begins|spent|spends|lives|lived|works|worked|wants|wanted|went|"
    r"loves|loved|likes|liked|became|becomes|wrote|writes|joined|left|died|married"
)
# Every name starts with a capital: looked for first, so the variable-length look-behinds
# run only there, not at every position (from each blank of a long run, back over all of
# it: quadratic). "[ \t]" then "[ \t]*", not "[ \t]+[ \t]*": one way to split a run.
_UPPER_NEXT = r"(?=\p{Lu})"
_LINE_START = rf"{_UPPER_NEXT}(?<=^[ \t]*(?:>[ \t]*)?)"
_SENTENCE_START = rf"{_UPPER_NEXT}(?<=(?:^|[.!?][\"”’']?[ \t])[ \t]*)"


class PersonRoleRecognizer(ClassPatternRecognizer):
    """A name in a role the sentence gives a person: speaker, addressee, kin, job title."""

    ENTITY = "PERSON"
    FLAGS = re.MULTILINE  # Not Presidio's default (IGNORECASE): capitalisation is the evidence.

    PATTERNS = [
        # A speaker label, then a quote or a sentence: the dialogue layout of scripts and chats.
        Pattern("speaker_quote", rf"{_LINE_START}{_STOP}{_WORD}(?=[ \t]*:[ \t]*[\"“«„])", 0.6),
        Pattern(
            "speaker_line", rf"{_LINE_START}{_STOP}{_WORD}(?=[ \t]*:[ \t]+\p{{Lu}}[^\n]*[.!?])", 0.5
        ),
        Pattern("speaks", rf"(?<![\p{{L}}'’]){_STOP}{_WORD}(?=[ \t]+(?i:{_SPEECH})\b)", 0.6),
        Pattern(
            "spoken_to",
            rf"{_UPPER_NEXT}(?<=\b(?i:{_SPEECH})(?:[ \t]+{_NAME})?(?:[ \t]+(?:at|to))?[ \t]+)"
            rf"{_STOP}{_NAME}",
            0.6,
        ),
        Pattern(
            "kin",
            rf"{_UPPER_NEXT}(?<=\b(?i:(?:my|our|his|her|their|your)[ \t]+(?:{_KIN}))[ \t]+){_NAME}",
            0.6,
        ),
        Pattern(
            "role", rf"{_UPPER_NEXT}(?<=\b(?i:{_ROLE})\.?[ \t]+){_STOP}{_WORD}[ \t]+{_WORD}", 0.6
        ),
        Pattern(
            "name_asked",
            rf"{_UPPER_NEXT}"
            r"(?<=\b(?i:(?:first|last|full|middle|maiden|sur|user)?[ \t]?name\?|name's|"
            r"(?:named|called|calls|call)(?:[ \t]+(?:him|her|them|me|us))?|"
            rf"(?:my|his|her|your|their|our|'s|’s) name)[ \t]*(?:\n[ \t]*)?){_STOP}{_NAME}",
            0.6,
        ),
        Pattern("middle_initial", rf"(?<![\p{{L}}'’]){_WORD}[ \t]+\p{{Lu}}\.[ \t]+{_WORD}", 0.6),
        Pattern(
            "sentence_subject",
            rf"{_SENTENCE_START}{_STOP}{_WORD}(?:[ \t]+{_WORD})?(?=[ \t]+(?:{_SUBJECT_VERBS})\b)",
            0.4,
        ),
        Pattern(
            "addressed",
            rf"{_SENTENCE_START}{_STOP}{_WORD}(?=,[ \t]+(?:can|could|would|will|please|do|did|are|"
            r"have|I|you|we)\b)",
            0.5,
        ),
    ]
    # No CONTEXT words: the cue is part of every pattern, so no context boost.
