"""`${…}` in block templates: integer arithmetic over parameters, parsed here (never `eval`).

Grammar:  compare := expr (('==' | '!=' | '<' | '<=' | '>' | '>=') expr)?   (1 or 0)
          expr := term (('+' | '-') term)*;  term := unary (('*' | '//') unary)*;
          unary := '-' unary | atom;
          atom := INT | NAME | ('min' | 'max') '(' compare ',' compare ')' | '(' compare ')'
"""

from __future__ import annotations

import re

MAX_EXPRESSION = 200
MAX_VALUE = 10**15

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|==|!=|<=|>=|[-+*()/%<>,]))")
COMPARISONS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
               "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
FUNCTIONS = {"min": min, "max": max}


class ExpressionError(ValueError):
    """A `${…}` expression that can't be evaluated, with the reason in the user's terms."""


def evaluate(text: str, env: dict) -> int:
    if len(text) > MAX_EXPRESSION:
        raise ExpressionError(f"the expression is longer than {MAX_EXPRESSION} characters")
    tokens = _tokenize(text)
    parser = _Parser(tokens, env, text)
    value = parser.compare()
    if parser.i != len(tokens):
        raise ExpressionError(f"unexpected {tokens[parser.i]!r} in ${{{text}}}")
    return value


def _tokenize(text: str) -> list[str]:
    tokens, i = [], 0
    text = text.rstrip()
    while i < len(text):
        match = _TOKEN.match(text, i)
        if not match and text[i:].lstrip().startswith("="):
            raise ExpressionError(f"`=` in ${{{text}}}: write `==` to compare")
        if not match:
            raise ExpressionError(f"unexpected {text[i:].strip()[:10]!r} in ${{{text}}}: only whole "
                                   "numbers, parameter names, + - * //, comparisons (== != < <= > "
                                   ">=), min(a, b), max(a, b) and parentheses are allowed")
        tokens.append(match.group(1) or match.group(2) or match.group(3))
        i = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str], env: dict, text: str):
        self.tokens, self.env, self.text, self.i = tokens, env, text, 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self):
        token = self.peek()
        if token is None:
            raise ExpressionError(f"${{{self.text}}} ends too early")
        self.i += 1
        return token

    def compare(self) -> int:
        """A comparison is 1 or 0; one per expression level (`a < b < c` is refused: in Python
        it means `a < b and b < c`, here it would read as `(a < b) < c`)."""
        value = self.expr()
        if self.peek() in COMPARISONS:
            op = self.take()
            value = int(COMPARISONS[op](value, self.expr()))
            if self.peek() in COMPARISONS:
                raise ExpressionError(f"chained comparison in ${{{self.text}}}: write one "
                                       "comparison, with parentheses for more")
        return value

    def expr(self) -> int:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = _checked(value + self.term() if self.take() == "+" else value - self.term())
        return value

    def term(self) -> int:
        value = self.unary()
        while self.peek() in ("*", "//", "/", "%"):
            op = self.take()
            if op in ("/", "%"):
                raise ExpressionError(f"`{op}` isn't allowed in ${{{self.text}}}: use `//` "
                                       "(whole-number division)")
            right = self.unary()
            if op == "*":
                value = _checked(value * right)
            else:
                if right == 0:
                    raise ExpressionError(f"division by zero in ${{{self.text}}}")
                value = value // right
        return value

    def unary(self) -> int:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        return self.atom()

    def atom(self) -> int:
        token = self.take()
        if token == "(":
            value = self.compare()
            if self.take() != ")":
                raise ExpressionError(f"missing `)` in ${{{self.text}}}")
            return value
        if token in FUNCTIONS and self.peek() == "(" and token not in self.env:
            self.take()
            first = self.compare()
            if self.take() != ",":
                raise ExpressionError(f"`{token}` takes two values, `{token}(a, b)`, in "
                                       f"${{{self.text}}}")
            second = self.compare()
            if self.take() != ")":
                raise ExpressionError(f"`{token}` takes two values, `{token}(a, b)`, in "
                                       f"${{{self.text}}}")
            return FUNCTIONS[token](first, second)
        if token.isdigit():
            return _checked(int(token))
        if token[0].isalpha() or token[0] == "_":
            if token not in self.env:
                known = ", ".join(sorted(self.env)) or "none"
                raise ExpressionError(f"unknown parameter `{token}` in ${{{self.text}}} "
                                       f"(parameters: {known})")
            value = self.env[token]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ExpressionError(f"parameter `{token}` is {value!r}, not a whole number, "
                                       f"so it can't be used in ${{{self.text}}}")
            return value
        raise ExpressionError(f"unexpected {token!r} in ${{{self.text}}}")


def _checked(value: int) -> int:
    if abs(value) > MAX_VALUE:
        raise ExpressionError(f"a value in the expression grows beyond {MAX_VALUE:.0e}")
    return value
