"""The flow editor's forms: what the admin's flow page is made of.

``trigger_form`` turns the trigger's stored JSON (schedule, hmac, inputs, response headers)
into fields for the chosen trigger kind; ``step_form`` gives each step an action picker
with its declared inputs. Both validate with the definition importer's own rules.
"""
