"""A chat model that replays scripted answers from a JSON file (`--model file:PATH`).

The file is a list of objects, each tagged with the schema it answers:
`{"schema": "plan", "response": {...}}`, or `"raw": "text"` to send text as it is, `"sleep": s`
to answer late, `"error": "..."` to fail like a provider. Answers are taken in order, per schema,
so the planner and the reviser never consume each other's; running out is an error.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from pipefix.errors import PipefixError
from pipefix.planners.llm_schemas import SCHEMAS

SCHEMA_TAG = re.compile(r"schema `([a-z_]+)`")


class ScriptError(PipefixError):
    """A script that cannot be read, or that has no answer left for a question."""


def schema_asked(messages: list[BaseMessage]) -> str:
    for message in messages:
        found = SCHEMA_TAG.search(str(message.content))
        if found:
            return found.group(1)
    raise ScriptError("the question names no answer schema")


class ScriptedChatModel(BaseChatModel):
    script: list[dict[str, Any]]
    source: str = "script"
    _used: dict[str, int] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path) -> ScriptedChatModel:
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ScriptError(f"cannot read model script {path}: {error.strerror}") from None
        except json.JSONDecodeError as error:
            raise ScriptError(f"{path}:{error.lineno}: not JSON: {error.msg}") from None
        if not isinstance(entries, list):
            raise ScriptError(f"{path}: a model script is a JSON list of answers")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or entry.get("schema") not in SCHEMAS:
                raise ScriptError(f'{path}: answer {index} needs "schema": one of {", ".join(SCHEMAS)}')
        return cls(script=entries, source=str(path))

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def remaining(self, schema: str) -> int:
        return sum(1 for e in self.script if e["schema"] == schema) - self._used.get(schema, 0)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        schema = schema_asked(messages)
        answers = [e for e in self.script if e["schema"] == schema]
        used = self._used.get(schema, 0)
        if used >= len(answers):
            raise ScriptError(f"{self.source} has no {schema} answer left (it had {len(answers)})")
        self._used[schema] = used + 1
        entry = answers[used]
        if "sleep" in entry:
            time.sleep(float(entry["sleep"]))
        if "error" in entry:
            raise RuntimeError(str(entry["error"]))
        text = entry["raw"] if "raw" in entry else json.dumps(entry.get("response"))
        # A script has no tokenizer: it reports an estimate (4 characters a token), not a count.
        asked = sum(len(str(m.content)) for m in messages)
        usage = UsageMetadata(
            input_tokens=asked // 4, output_tokens=len(text) // 4, total_tokens=(asked + len(text)) // 4
        )
        message = AIMessage(content=text, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])
