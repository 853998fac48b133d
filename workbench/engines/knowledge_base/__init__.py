"""The knowledge base: past question/answer pairs a bot falls back on (starchat's knowledgebase)."""

from workbench.engines.knowledge_base.kb import (
    DOCTYPES,
    FILTERS,
    QA,
    KBHit,
    KnowledgeBase,
    KnowledgeBaseError,
    parse_qa,
)

__all__ = ["DOCTYPES", "FILTERS", "QA", "KBHit", "KnowledgeBase", "KnowledgeBaseError", "parse_qa"]
