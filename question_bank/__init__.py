"""The question bank domain: questions, grading, file formats and the law library.

Pure modules (no Flask): :mod:`question_bank.domain` (the question value type and its rules),
:mod:`question_bank.grading`, :mod:`question_bank.formats` and :mod:`question_bank.laws`.
Database models live in :mod:`question_bank.models`; services that write live in
:mod:`contest.services`.
"""
