"""What the test modules share: builders, clients, fixtures and browser steps.

A test module imports its helpers from here, never from another test module (importing a test
module runs its module-level code again and can register its fixtures twice).
"""
