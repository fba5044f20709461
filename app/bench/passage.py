"""The fixed passage the typing replay types: plain English prose, about 2,000 characters.

Fixed text makes runs comparable; it was written for this benchmark (no licence issues),
with the punctuation, short and long words and paragraph break of ordinary writing.
"""

PASSAGE = (
    "The ferry left the harbour a little after six, while the town was still asleep "
    "and the gulls had the water to themselves. Mara stood at the rail with her coat "
    "buttoned to the chin, watching the lights of the quay shrink into a thin bright "
    "line. She had promised herself that she would not look back, and of course she "
    "looked back at once. The house on the hill was dark. Somebody else would open its "
    "shutters in the morning, and somebody else would learn which stair creaked and "
    "which window stuck in the rain.\n\n"
    "Out past the breakwater the sea grew heavier. The deck rose and fell in long, slow "
    "swells, and the few passengers who had come outside to see the dawn went back in "
    "to the warm saloon. Mara stayed. There was a kind of relief in the cold, in the "
    "spray that stung her face and the wind that made thinking difficult. For weeks she "
    "had done nothing but think: about the letter, about her brother, about the money "
    "that was never quite enough and the choices that had seemed so reasonable at the "
    "time. Now there was only the grey water and the grey sky and, somewhere ahead, an "
    "island she had not seen since she was nine years old.\n\n"
    "She remembered very little of it. A white church with a blue door. A dog that "
    "followed her along the beach and would not be sent home. Her grandmother's hands, "
    "floury to the wrist, shaping bread on a wooden board while the radio played songs "
    "in a language Mara only half understood. It was strange how the mind kept such "
    "small things and let the large ones go. She could not have said what year it was, "
    "or why they had stopped visiting, but she could still smell the bread.\n\n"
    "The captain's voice came over the speaker to say that the crossing would take "
    "longer than usual because of the weather. Mara found that she did not mind. She "
    "took the letter out of her pocket and read it again, though she knew every word. "
    "Come when you can, it said. The house is yours if you want it. There is work here "
    "for anyone willing to do it, and the winters are not as hard as people say. It was "
    "signed by a cousin whose face she could not picture, and it had arrived on the "
    "very day she had run out of reasons to stay where she was."
)
